"""Fixtures for codes and scans: the scan fixtures of ``tests.engagement``."""

from __future__ import annotations

from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401  (shared fixtures)
