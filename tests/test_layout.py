"""One layout: every path the code names comes from `arxiv_embed.layout`, and dvc.yaml's outs are its paths."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from arxiv_embed.classify.classifier import CLASSIFIER_FILES
from arxiv_embed.data.subsample import SPLITS
from arxiv_embed.layout import LAYOUT, AdapterFolder, Layout, ModelFolders
from arxiv_embed.search.lexical import LEXICAL_FILES
from arxiv_embed.search.modes import SEARCH_FILE

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


def named_files(layout: Layout, stages: list[str]) -> set[str]:
    """The files a stage's layout path is called for, and those inside a models folder that their writing module
    names, as dvc.yaml spells them."""
    models, item = layout.models, "${item}"
    plots = {n for p in (ROOT / "stages").glob("*.py") for n in re.findall(r'LAYOUT\.plot\("(\w+)"\)', p.read_text())}
    files = [
        *(f(split) for f in (layout.split, layout.split_vectors, layout.adapted_split) for split in SPLITS),
        *(layout.stage_metrics(stage) for stage in stages),
        *(layout.plot(name) for name in plots),
        layout.harvest_shard(item),
        layout.update(item),
        layout.stage_metrics(f"embed_harvest/{item}"),
        *(models.lexical / name for name in (*LEXICAL_FILES, SEARCH_FILE)),
        *(models.classifier / name for name in CLASSIFIER_FILES),
    ]
    return {f.as_posix() for f in files}


def test_every_path_dvc_yaml_names_is_the_layouts() -> None:
    """deps, outs, metrics and plots: a path dvc.yaml spells on its own would drift from the code's."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    named = layout_paths(LAYOUT) | named_files(LAYOUT, list(stages))
    dvclive = tuple(f"{LAYOUT.stage_dvclive(stage).as_posix()}/" for stage in stages)
    spelled = set()
    for entry in stages.values():
        stage = entry.get("do", entry)
        for key in ("deps", "outs", "metrics", "plots"):
            spelled |= {next(iter(p)) if isinstance(p, dict) else p for p in stage.get(key, [])}
    ours = {p for p in spelled if not p.startswith(("arxiv_embed/", "stages/", "${data.source}"))}
    assert {p for p in ours if p.endswith(".json") and p.startswith("models/")}  # the check reaches into folders
    unnamed = {p for p in ours if not p.startswith(dvclive)} - named
    assert not unnamed, sorted(unnamed)


def test_a_bundle_names_its_files_as_the_models_folder_does(tmp_path: Path) -> None:
    pipeline, bundle = Layout(tmp_path).models, ModelFolders(tmp_path / "elsewhere")
    for folder in (ModelFolders.served_onnx, ModelFolders.classifier, ModelFolders.served_index, ModelFolders.lexical):
        assert pipeline.name_of(folder.fget(pipeline)) == bundle.name_of(folder.fget(bundle))
    assert pipeline.name_of(pipeline.served_onnx) == "adapter/onnx"  # what every released manifest lists
    assert pipeline.name_of(pipeline.served_index) == "live_index"
