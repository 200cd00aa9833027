"""dvc.yaml's code deps and params are what the stage scripts import and declare; DVC sees an edit to any of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run
from tools.stage_deps import code_deps, declared_sections, render


def test_dvc_yaml_is_what_the_tool_writes() -> None:
    assert (ROOT / "dvc.yaml").read_text() == render(), "dvc.yaml drifted from the stages' imports: run `make deps`"


def test_deps_follow_imports_transitively() -> None:
    """evaluate imports the bundle, which imports the encoder, index, paper store and classifier, and so on."""
    deps = set(code_deps("stages.evaluate"))
    assert {
        "stages/evaluate.py",
        "arxiv_embed/bundle.py",
        "arxiv_embed/data/text.py",
        "arxiv_embed/data/shards.py",
        "arxiv_embed/search/papers.py",
        "arxiv_embed/classify/tfidf.py",
        "arxiv_embed/atomic.py",
        "arxiv_embed/params.py",
        "arxiv_embed/errors.py",
        "arxiv_embed/__init__.py",
    } <= deps
    assert not {d for d in deps if d.startswith(("serve/", "tools/", "tests/"))}
    assert "arxiv_embed/train/training.py" not in deps  # evaluation never imports training
    assert declared_sections(ROOT / "stages/finetune.py") == ["train", "model"]


MODULES = ["arxiv_embed/train/registry.py", "arxiv_embed/data/text.py", "arxiv_embed/atomic.py"]  # few, some, all


@pytest.mark.e2e
@pytest.mark.parametrize("module", MODULES)
def test_an_edit_to_an_imported_module_makes_dvc_status_name_every_stage_that_imports_it(
    pipeline_repo: Path, module: str
) -> None:
    stages = yaml.safe_load((pipeline_repo / "dvc.yaml").read_text())["stages"]
    # a `foreach` stage has no instance before a harvest lists a shard (the harvest tests cover those)
    importers = {name for name, stage in stages.items() if "foreach" not in stage and module in stage["deps"]}
    assert importers, module
    path = pipeline_repo / module
    original = path.read_text()
    path.write_text(original + "\n# an edit\n")
    try:
        changed = json.loads(run(["dvc", "status", "--json"], pipeline_repo).stdout)
    finally:
        path.write_text(original)
    assert set(changed) == importers
    assert json.loads(run(["dvc", "status", "--json"], pipeline_repo).stdout) == {}


def test_each_stage_writes_its_metrics_under_its_own_name() -> None:
    """metrics/<stage>.json and `dvc metrics diff` name the stage that wrote the numbers."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, entry in stages.items():
        stage = entry.get("do", entry)
        script = ROOT / (stage["cmd"].split("-m ", 1)[1].split()[0].replace(".", "/") + ".py")
        assert re.findall(r'run_stage\(f?"([a-z_]+)', script.read_text()) == [name], script
        metrics = {next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])}
        ours = {m for m in metrics if m.startswith("metrics/")}
        assert ours <= {f"metrics/{name}.json", f"metrics/{name}/${{item}}.json"}, ours
