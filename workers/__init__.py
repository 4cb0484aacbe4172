"""Background work: the Redis connection, RQ queues, the job wrapper and the worker command."""

QUEUES = ("payouts", "fraud", "default")
