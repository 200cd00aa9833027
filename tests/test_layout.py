"""One layout: every path the code names comes from `arxiv_embed.layout`, and dvc.yaml's outs are its paths."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from arxiv_embed.layout import LAYOUT, AdapterFolder, Layout, ModelFolders

ROOT = Path(__file__).resolve().parents[1]
CODE = ("arxiv_embed", "stages", "serve", "benchmarks", "tools")
# the first folder of every path the layout names, and the folders a models folder or a bundle holds
FOLDERS = ("data", "models", "metrics", "dvclive", "encoder", "onnx", "adapter", "classifier", "index", "lexical")
PATH_LITERAL = re.compile("^({})/".format("|".join((*FOLDERS, "live_index"))))


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def path_literals(source: str) -> list[str]:
    """String constants that spell a layout path ("index/...", "models/..."), and `Path("models")`-style calls."""
    tree, found = ast.parse(source), []
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if PATH_LITERAL.match(node.value):
                found.append(node.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Path" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and first.value in FOLDERS:
                found.append(f"Path({first.value!r})")
    return found


def test_no_path_literal_outside_the_layout_module() -> None:
    offenders = {}
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != ROOT / "arxiv_embed/layout.py" and (found := path_literals(path.read_text())):
                offenders[path.relative_to(ROOT).as_posix()] = found
    assert not offenders


def test_the_check_finds_the_literals_it_is_for() -> None:
    source = 'x = MODELS / "classifier"\ny = f"index/{n}"\nz = Path("models")\n"""A docstring on models/."""'
    assert sorted(path_literals(source)) == ["Path('models')", "index/"]


def layout_paths(layout: Layout) -> set[str]:
    """Every folder and file the layout names, as dvc.yaml spells them."""
    found = set()
    for owner in (layout, layout.models, layout.models.adapter):
        for name, member in vars(type(owner)).items():
            if isinstance(member, property):
                value = getattr(owner, name)
                found.add((value.root if isinstance(value, AdapterFolder) else value).as_posix())
    return found


def test_dvc_yaml_outs_are_layout_paths() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    named = layout_paths(LAYOUT)
    outs = []
    for stage in stages.values():
        for out in stage.get("outs", []):
            outs.append(next(iter(out)) if isinstance(out, dict) else out)
    plain = [o for o in outs if not o.startswith(LAYOUT.metrics.as_posix()) and "${" not in o]
    assert plain and set(plain) <= named, sorted(set(plain) - named)


def test_a_bundle_names_its_files_as_the_models_folder_does(tmp_path: Path) -> None:
    pipeline, bundle = Layout(tmp_path).models, ModelFolders(tmp_path / "elsewhere")
    for folder in (ModelFolders.served_onnx, ModelFolders.classifier, ModelFolders.served_index, ModelFolders.search):
        assert pipeline.name_of(folder.fget(pipeline)) == bundle.name_of(folder.fget(bundle))
    assert pipeline.name_of(pipeline.served_onnx) == "adapter/onnx"  # what every released manifest lists
    assert pipeline.name_of(pipeline.served_index) == "live_index"
