"""Scan recording: a genuine scan costs one Redis call and no SQL; PostgreSQL is written behind.

What it offers:

- ``record``: ``scan(ScanInput) -> ScanResult`` verifies a scanned string, records the sighting
  and derives the verdict (``Location``, ``ScanInput``, ``ScanResult``).
- ``state``: the Redis layout of code states and the scan event stream (one Lua call per scan).
- ``batchcache``: the per-process cache of code batches, checked by a Redis version token;
  ``batches_changed`` is called by whatever creates, activates or revokes a batch.
- ``writebehind``: the flusher that moves scan events from Redis into PostgreSQL
  (``flask --app app scans flush --follow``), poison-proof (bisect, dead letters).
- ``index``: the scanned-code bitmaps and their completeness marker, rebuilt in resumable pages
  after Redis lost them (the Redis-loss fallback).
- ``bulkwrite``: the COPY/upsert statements the flusher runs.

The full argument (costs, durability trade-off, Redis loss) is the docstring of ``record``.
"""
