"""``flask export STREAM --after CURSOR --out FILE [--brand SLUG]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.exports.conftest import settle
from tests.exports.test_exports import _scans

pytestmark = pytest.mark.usefixtures("committed")


def _export(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["export", *args])


def _lines(path: Path) -> tuple[list[dict[str, Any]], str]:
    *records, last = [json.loads(line) for line in path.read_text("utf-8")[:-1].split("\n")]
    return records, last["next_cursor"]


def test_export_writes_the_stream_and_resumes_after_a_cursor(
    app: Flask, make_codes: Any, make_brand: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import exports.cli
    from core.db import db

    monkeypatch.setattr(exports.cli, "PAGE", 2)  # several pages
    c = make_codes(5)
    make_brand()  # a second brand: the command needs --brand
    db.commit()
    ids = _scans(c.brand, c.batch, 5)
    settle()
    out = tmp_path / "scans.ndjson"
    refused = _export(app, "scans", "--out", str(out))
    assert refused.exit_code != 0 and "--brand" in refused.output
    result = _export(app, "scans", "--out", str(out), "--brand", c.brand.slug)
    assert result.exit_code == 0, result.output
    assert "wrote 5 scans records" in result.output
    records, cursor = _lines(out)
    assert sorted(r["scan_id"] for r in records) == sorted(ids)
    assert cursor == records[-1]["cursor"]
    later = _scans(c.brand, c.batch, 3)
    settle()
    again = tmp_path / "more.ndjson"
    result = _export(app, "scans", "--after", cursor, "--out", str(again), "--brand", c.brand.slug)
    assert result.exit_code == 0, result.output
    more, _ = _lines(again)
    assert sorted(r["scan_id"] for r in more) == sorted(later)
    bad = _export(app, "awards", "--after", cursor, "--out", str(again), "--brand", c.brand.slug)
    assert bad.exit_code != 0 and "invalid_cursor" in bad.output
    unknown = _export(app, "scans", "--out", str(again), "--brand", "nope")
    assert unknown.exit_code != 0 and "no brand" in unknown.output
