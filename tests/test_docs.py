"""README.md and docs/ are generated from committed JSON, build as a strict MkDocs site, and speak of the project."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.make_docs import render_all

MAX_README_LINES, MAX_README_BYTES = 150, 12 * 1024


@pytest.mark.parametrize("page", sorted(render_all()), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_is_what_the_generator_writes(page: Path) -> None:
    assert page.read_text() == render_all()[page], f"{page.relative_to(ROOT)} is stale: run `make docs`"


def test_readme_is_one_screenful() -> None:
    readme = (ROOT / "README.md").read_bytes()
    assert len(readme) <= MAX_README_BYTES and readme.count(b"\n") <= MAX_README_LINES


def test_docs_speak_of_the_project_only() -> None:
    """No page tells who measured what, in which session or for which ticket."""
    pattern = re.compile(r"this (task|session)|earlier session|issue \d+|previous default|was lent", re.IGNORECASE)
    for page in render_all():
        found = pattern.search(page.read_text())
        assert not found, f"{page.relative_to(ROOT)}: {found.group(0)!r}"


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "results" / "index.html").is_file()
