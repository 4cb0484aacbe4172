"""Data ownership: incremental exports of a brand's records and the audit log of staff actions.

``streams`` names what can be exported, ``service`` pages a stream by its commit-safe key,
``cursor`` signs the cursors, ``audit`` records sensitive staff actions; ``api`` and ``cli`` are
the two ways out.
"""
