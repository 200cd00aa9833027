"""README.md and docs/ are generated from committed JSON, build as a strict MkDocs site, and speak of the project."""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from serve.settings import Settings
from tests.conftest import ROOT
from tools.make_docs import render_all
from tools.run_outputs import LastCommit

MAX_README_LINES, MAX_README_BYTES = 150, 12 * 1024


@functools.cache
def committed_render() -> dict[Path, str]:
    """The pages as the templates make them from the committed metrics JSON and params: a run of the
    user's own rewrites the workspace's metrics, not the pages."""
    return render_all(LastCommit())


@pytest.mark.parametrize("page", sorted(render_all()), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_is_what_the_generator_writes(page: Path) -> None:
    stale = f"{page.relative_to(ROOT)} is stale: run `make docs` (and commit the metrics of a run you keep)"
    assert page.read_text() == committed_render()[page], stale


def test_curl_lines_keep_their_urls_whole() -> None:
    """A URL's `&` outside quotes would end the command in a shell and background the rest of it."""
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    lines = [
        line.strip() for page in pages for line in page.read_text().splitlines() if line.strip().startswith("curl ")
    ]
    assert lines
    for line in lines:
        command = line.split("   #")[0].removesuffix("\\")  # a comment, or a continued line
        tokens = list(shlex.shlex(command, posix=True, punctuation_chars=True))
        assert "&" not in tokens and "&&" not in tokens, line


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


def test_every_params_section_is_in_the_pipeline_page() -> None:
    rows = re.findall(r"^\| (`[^|]+`) \|", (ROOT / "docs" / "pipeline.md").read_text(), re.M)
    named = {name for row in rows for name in re.findall(r"`(\w+)`", row)}
    missing = set(yaml.safe_load(LastCommit().text("params.yaml"))) - named
    assert not missing, f"pipeline.md's params table lacks {sorted(missing)}"


def test_development_page_lists_every_make_target() -> None:
    page = (ROOT / "docs" / "development.md").read_text()
    phony = re.search(r"^\.PHONY: (.*?)\n(?!\t)", (ROOT / "Makefile").read_text(), re.M | re.S).group(1)
    for target in phony.replace("\\\n", " ").split():
        assert f"`make {target}`" in page, target


# Each abbreviation with the words that spell it out; a page that uses one says them at its first use.
ACRONYMS = {
    "TF-IDF": "term frequency",
    "P@10": "precision at",
    "P@k": "precision at",
    "MRR": "mean reciprocal rank",
    "ECE": "expected calibration error",
    "GTO": "Git Tag Ops",
    "OAI-PMH": "Open Archives Initiative",
    "IVF-PQ": "inverted file",
    "HNSW": "hierarchical navigable small world",
    "OPQ": "optimized product quantization",
    "nprobe": "inverted lists",
    "MNRL": "multiple negatives ranking",
    "GradCache": "gradient cach",
    "SDPA": "scaled dot-product attention",
    "gloo": "communication backend",
    "VNNI": "Vector Neural Network Instructions",
    "AMX": "Advanced Matrix Extensions",
    "RSS": "resident set size",
    "p99": "99th percentile",
    "SGD": "stochastic gradient descent",
    "PCA": "principal component analysis",
}
NEAR = 200  # characters: the words stand before the abbreviation's first use or just after it


@pytest.mark.parametrize("page", sorted(render_all()), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_abbreviation_is_spelled_out_at_its_first_use(page: Path) -> None:
    text = " ".join(page.read_text().split())
    for short, words in ACRONYMS.items():
        first = re.search(rf"(?<![\w-]){re.escape(short)}(?!\w)", text)
        if first:
            spelled = text.lower().find(words.lower())
            assert 0 <= spelled <= first.start() + NEAR, f"{page.name}: {short} is not spelled out at its first use"


GLOSSARY_TERMS = ("val", "adapter", "OAI datestamp", "P@10", "profile", "hybrid", "bundle", "corpus", "shared sample")
GLOSSARY_NEAR = 300  # characters after a page's first glossary term within which the glossary is linked


@pytest.mark.parametrize("page", sorted(render_all()), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_glossary_is_linked_where_a_page_first_uses_its_words(page: Path) -> None:
    if page.name == "glossary.md":
        return
    text = " ".join(re.sub(r"<!--.*?-->", "", page.read_text()).split())
    uses = [re.search(rf"(?<![\w/.\[-]){re.escape(term)}(?![\w-])", text) for term in GLOSSARY_TERMS]
    first = min((found.start() for found in uses if found), default=None)
    if first is not None:
        link = text.find("glossary.md")
        assert 0 <= link <= first + GLOSSARY_NEAR, f"{page.name}: link the glossary at the first use of its words"
    glossary = (ROOT / "docs/glossary.md").read_text()
    assert all(f"**{term}**" in glossary or term in glossary for term in GLOSSARY_TERMS)


def test_every_make_target_sets_up_the_venv_first() -> None:
    """README: every target creates .venv when it is missing; a target does so through `setup`, or through a
    target that does."""
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY: (.*?)\n(?!\t)", makefile, re.M | re.S).group(1).replace("\\\n", " ").split()
    needs = {m.group(1): m.group(2).split() for m in re.finditer(r"^([a-z-]+):([^=\n]*)$", makefile, re.M)}

    def sets_up(target: str) -> bool:
        return target == "setup" or any(sets_up(n) for n in needs.get(target, []) if n in phony)

    assert [t for t in phony if not sets_up(t)] == []


def test_the_serving_page_lists_every_server_setting_with_its_default() -> None:
    page = (ROOT / "docs/serving.md").read_text()
    for name, field in Settings.model_fields.items():
        row = re.search(rf"^\| `ARXIV_EMBED_{name.upper()}` \| (.+?) \| (.+) \|$", page, re.M)
        assert row and field.description and row.group(2) == field.description, name
        assert row.group(1) == ("unset" if field.default is None else f"`{field.default}`"), name
