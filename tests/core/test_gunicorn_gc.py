"""gunicorn workers keep the loaded app out of the cyclic collector (``gunicorn.conf.py``)."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

import pytest


def test_a_worker_freezes_what_the_loaded_app_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Loading the file names a metrics directory when none is set: keep it to this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    path = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf_gc", path)
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    gc.unfreeze()
    try:
        conf.post_worker_init(object())
        assert gc.get_freeze_count() > 10_000  # the test process's modules, at least
    finally:
        gc.unfreeze()
