"""Background work: the job wrapper, enqueue-after-commit, the worker and scheduler commands.

The Redis connection and the queue names live on the ground floor (``core.broker``).
"""
