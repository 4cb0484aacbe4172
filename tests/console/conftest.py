"""Fixtures for the console and reports."""

from __future__ import annotations

from typing import Any

import pytest

from tests.campaigns.conftest import make_campaign  # noqa: F401  (shared fixtures)
from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app."""
