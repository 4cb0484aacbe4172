"""Data ownership: what leaves the service for the brand's own systems.

``streams`` names what can be exported, ``service`` pages a stream by its commit-safe key,
``cursor`` signs the cursors; ``api`` and ``cli`` are the two ways out; ``webhooks`` pushes
events. The audit log's entries are written by ``core.audit`` (every package records there);
they are read here, through ``GET /api/v1/audit-log`` and the ``audit`` stream.
"""
