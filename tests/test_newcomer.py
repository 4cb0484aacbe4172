"""What a newcomer meets first: `make run` stays on loopback, the README stands alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_make_run_serves_on_loopback_unless_told_otherwise() -> None:
    plan = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    assert "--host 127.0.0.1" in plan.stdout and "0.0.0.0" not in plan.stdout
    exposed = subprocess.run(
        ["make", "-n", "run", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True, text=True
    )
    assert "--host 0.0.0.0" in exposed.stdout


def test_make_run_prints_the_demo_urls_with_its_port() -> None:
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=5055"], cwd=ROOT, capture_output=True, text=True
    )
    demo = next(line for line in plan.stdout.splitlines() if "app demo" in line)
    assert "http://localhost:5055" in demo and "--port 5055" in plan.stdout


def test_the_readme_and_docs_stand_alone() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        assert "../shared" not in text and "/work/" not in text, page
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    readme = (ROOT / "README.md").read_text()
    assert "docs/architecture.md" in readme and "docs/api.md" in readme
    assert "/api/docs" in (ROOT / "docs" / "api.md").read_text()
