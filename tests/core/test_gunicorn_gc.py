"""gunicorn workers keep the loaded app out of the cyclic collector (``gunicorn.conf.py``)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.core import gunicorn_conf


def test_a_worker_freezes_what_the_loaded_app_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = gunicorn_conf.load(monkeypatch, tmp_path)
    gc.unfreeze()
    try:
        conf.post_worker_init(object())
        assert gc.get_freeze_count() > 10_000  # the test process's modules, at least
    finally:
        gc.unfreeze()
