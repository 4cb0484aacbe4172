"""Fixtures for fraud: codes, consumers and campaigns, and a check that runs like production."""

from __future__ import annotations

from typing import Any

import pytest

from tests.campaigns.conftest import make_campaign  # noqa: F401  (shared fixtures)
from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401


@pytest.fixture
def settle() -> Any:
    """Write the pending scans behind (which sends their fraud checks) and run the workers."""
    from tests.workers import run_workers

    return run_workers


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app."""
