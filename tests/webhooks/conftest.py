"""Fixtures for webhooks: a loopback receiver, loopback allowed, short timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.campaigns.conftest import make_campaign, scan_as  # noqa: F401  (shared fixtures)
from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401
from tests.webhooks.receiver import Receiver, start


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on loopback; answers 200 unless told otherwise."""
    found = start(Receiver())
    yield found
    assert found.server is not None
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def hook_config(app: Any) -> Iterator[dict[str, Any]]:
    """Loopback allowed, one-second timeouts, a short retry schedule."""
    keys = {"WEBHOOK_ALLOW_LOOPBACK": True, "WEBHOOK_TIMEOUT_SECONDS": 1.0,
            "WEBHOOK_RETRY_SCHEDULE": "60,300,900"}  # fmt: skip
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(keys)
    yield keys
    app.config.update(saved)


@pytest.fixture
def make_hook(hook_config: Any) -> Any:
    """Factory: a webhook of ``owner`` for ``events`` at ``url`` (through the service)."""
    from exports.webhooks import service

    def make(owner: Any, url: str, events: list[str] | None = None) -> Any:
        new = service.NewWebhook(url, events or ["webhook.ping"])
        return service.create(owner.brand, owner, new)

    return make
