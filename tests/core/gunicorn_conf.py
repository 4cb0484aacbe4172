"""Load ``gunicorn.conf.py`` as a module for a test, keeping its metrics directory to the test."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    """The settings module. Loading it names a metrics directory when none is set (and its
    ``on_starting`` empties it): both stay the test's, since the metrics tests read the
    process's own registry."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    path = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf
