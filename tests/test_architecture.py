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
WALK_THROUGHS = {
    "add-a-model": 2,
    "add-a-recommendation-method": 1,
    "add-a-route": 3,
    "add-an-index-type": 3,
    "add-a-search-mode": 4,
}


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
        if "<" in path:  # one of a folder's files, e.g. serve/routers/<concern>.py
            assert any(target.parent.glob("*" + target.suffix)), path
        else:
            assert target.is_file() and not new, path


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


def floors() -> list[set[str]]:
    """The library's floors as the architecture page lists them, ground floor first: each line's backticked
    names are the packages and top-level modules of `arxiv_embed/` on that floor."""
    block = PAGE.read_text().split("<!-- floors -->\n", 1)[1].split("\n\n", 1)[0]
    return [set(re.findall(r"`([a-z_]+)`", line.split(": ", 1)[0])) for line in reversed(block.splitlines())]


def imports(path: Path) -> set[str]:
    """The top-level names (packages and modules) of `arxiv_embed` that a module imports, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] if node.module != "arxiv_embed" else [f"arxiv_embed.{a.name}" for a in node.names]
        names |= {m.split(".")[1] for m in modules if m.startswith("arxiv_embed.")}
    return names


def test_the_library_imports_only_from_its_own_floor_and_below() -> None:
    listed = floors()
    floor_of = {name: level for level, names in enumerate(listed) for name in names}
    units = {p.parent.name if p.name == "__init__.py" else p.stem for p in (ROOT / "arxiv_embed").glob("*/__init__.py")}
    units |= {p.stem for p in (ROOT / "arxiv_embed").glob("*.py") if p.stem != "__init__"}
    assert units == set(floor_of), f"place these on a floor of the page: {units ^ set(floor_of)}"
    upward = []
    for path in (ROOT / "arxiv_embed").rglob("*.py"):
        parts = path.relative_to(ROOT / "arxiv_embed").parts
        unit = parts[0] if len(parts) > 1 else path.stem
        if unit == "__init__":
            continue
        # a name that is no package or module is the root package's own (`from arxiv_embed import __version__`)
        upward += [f"{path.relative_to(ROOT)} -> {n}" for n in imports(path) if floor_of.get(n, 0) > floor_of[unit]]
    assert not upward, upward


def test_tools_never_import_the_benchmarks() -> None:
    """The benchmarks drive the tools' servers and sample; the dependency runs one way."""
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tools").rglob("*.py")
        if any(name.split(".")[0] == "benchmarks" for name in module_imports(path))
    ]
    assert not found, found


def module_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    return found + [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level]
