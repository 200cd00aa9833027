"""The architecture page matches the code: the files its walk-throughs name, and the registries it says they use."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from arxiv_embed.bundle import served_files
from arxiv_embed.layout import ModelFolders
from arxiv_embed.search import modes
from arxiv_embed.search.index import INDEX_FACTORIES, INDEX_TYPES

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs/templates/architecture.md.j2"
# files each walk-through touches at most
WALK_THROUGHS = {"add-a-model": 2, "add-a-recommendation-method": 1, "add-an-index-type": 3, "add-a-search-mode": 4}


def walk_through(name: str) -> list[tuple[str, bool]]:
    """(path, is new) of each file the walk-through lists under its `<!-- files: name -->` marker."""
    block = PAGE.read_text().split(f"<!-- files: {name} -->\n", 1)[1].split("\n\n", 1)[0]
    return [(m.group(1), bool(m.group(2))) for m in re.finditer(r"^- `([^`]+)`( \(new\))?", block, re.M)]


@pytest.mark.parametrize("name", WALK_THROUGHS)
def test_each_walk_through_names_files_that_exist(name: str) -> None:
    files = walk_through(name)
    assert 0 < len(files) <= WALK_THROUGHS[name]
    for path, new in files:
        target = ROOT / path
        assert (target.parent.is_dir() and "<" in path) if new else target.is_file(), path


def test_the_folder_table_names_every_package_and_existing_paths() -> None:
    table = re.findall(r"^\| `([^`]+)` \|", PAGE.read_text(), re.M)
    assert all((ROOT / path).exists() for path in table), table
    packages = {p.parent.relative_to(ROOT).as_posix() + "/" for p in (ROOT / "arxiv_embed").glob("*/__init__.py")}
    assert packages <= set(table), packages - set(table)


def test_a_new_modes_artifacts_reach_the_bundle_through_the_registry(monkeypatch, tmp_path: Path) -> None:
    """What the search-mode walk-through leaves out is true: bundle.py needs no edit for a new artifact."""
    models = ModelFolders(tmp_path)
    extra = modes.SearchMode(modes.dense, True, "a test mode", files=lambda m: [m.root / "titles" / "postings.npy"])
    monkeypatch.setitem(modes.SEARCH_MODES, "titles", extra)
    assert models.root / "titles" / "postings.npy" in served_files(models)


def test_the_index_registry_covers_every_index_type() -> None:
    assert tuple(INDEX_FACTORIES) == INDEX_TYPES


def test_the_stage_and_the_server_build_searchers_the_same_way() -> None:
    assert "searcher_over(" in (ROOT / "stages/lexical_index.py").read_text()
    assert "searcher_over(" in (ROOT / "arxiv_embed/search/modes.py").read_text().split("def load_searcher", 1)[1]


def test_stages_are_thin_and_functions_short() -> None:
    """Logic lives in the library, where unit tests reach it: a stage script is at most 60 lines, and so is every
    function of the library and the server."""
    long_stages = [p.name for p in (ROOT / "stages").glob("*.py") if len(p.read_text().splitlines()) > 60]
    assert not long_stages
    long_functions = []
    for package in ("arxiv_embed", "serve"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert not long_functions
