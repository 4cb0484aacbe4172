"""Start-up refuses a Redis that may evict keys (``maxmemory-policy`` other than noeviction)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from redis.exceptions import ResponseError


class PolicyRedis:
    """A Redis that answers CONFIG GET maxmemory-policy (or refuses CONFIG, like managed ones)."""

    def __init__(self, policy: str | None) -> None:
        self.policy = policy

    def config_get(self, name: str) -> dict[str, Any]:
        if self.policy is None:
            raise ResponseError("unknown command 'CONFIG'")
        return {name: self.policy.encode()}


def test_only_noeviction_is_accepted() -> None:
    from core.broker import UnsafeRedis, check_no_eviction

    assert check_no_eviction(PolicyRedis("noeviction")) == "noeviction"  # type: ignore[arg-type]
    assert check_no_eviction(PolicyRedis(None)) is None  # type: ignore[arg-type]
    for policy in ("allkeys-lru", "volatile-lru", "allkeys-random", "volatile-ttl"):
        with pytest.raises(UnsafeRedis, match=policy):
            check_no_eviction(PolicyRedis(policy))  # type: ignore[arg-type]


@pytest.mark.parametrize("command", [["worker", "--burst"], ["scans", "flush"],
                                     ["scheduler", "--once"]])  # fmt: skip
def test_the_commands_refuse_an_evicting_redis(
    app: Flask, monkeypatch: Any, command: list[str]
) -> None:
    from core.broker import current_broker

    with app.app_context():
        broker = current_broker()
        monkeypatch.setattr(broker, "embedded", False)
        monkeypatch.setattr(broker, "redis", PolicyRedis("allkeys-lru"))
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 1 and "noeviction" in result.output, result.output


def test_gunicorn_refuses_to_start(monkeypatch: Any, tmp_path: Any) -> None:
    import redis

    from tests.core import gunicorn_conf

    conf = gunicorn_conf.load(monkeypatch, tmp_path)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(redis.Redis, "from_url", lambda *_a, **_k: PolicyRedis("allkeys-lru"))
    with pytest.raises(SystemExit, match="allkeys-lru"):
        conf.on_starting(None)
    monkeypatch.setattr(redis.Redis, "from_url", lambda *_a, **_k: PolicyRedis("noeviction"))
    conf.on_starting(None)


@pytest.mark.realservices
def test_the_real_redis_is_safe(app: Flask) -> None:
    from core.broker import check_no_eviction, redis_client

    with app.app_context():
        assert check_no_eviction(redis_client()) == "noeviction"
