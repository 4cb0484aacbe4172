"""Derived profiles: updated incrementally by jobs within seconds of a scan, rating or preference.

Never a nightly recompute. Scans arrive through the write-behind flusher, which enqueues one
``apply_scans`` job per flushed batch; ratings and preferences enqueue ``refresh_voice`` for the
one consumer concerned. Consent to ``profiling`` is checked inside each job, under a share lock
on the consumer rows, so a withdrawal (which takes that row's update lock, then deletes the
profile) and a job never interleave: what is derived after a withdrawal is nothing.

Lifecycle stage is not stored: it follows from the first and last scan times at the moment a
question is asked (``lifecycle.py``), so it never goes stale.
"""
