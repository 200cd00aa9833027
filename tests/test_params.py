"""params.yaml is exactly what DVC's Hydra composition of configs/ produces, and dvc.yaml only names real keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

ROOT = Path(__file__).resolve().parents[1]


def compose(tmp_path: Path, overrides: list[str]) -> dict:
    out = tmp_path / "params.yaml"
    compose_and_dump(out, str(ROOT / "configs"), None, "config", "", overrides)
    return yaml.safe_load(out.read_text())


def test_committed_params_equal_composition(tmp_path: Path) -> None:
    assert yaml.safe_load((ROOT / "params.yaml").read_text()) == compose(tmp_path, [])


@pytest.mark.parametrize(
    ("overrides", "key", "value"),
    [
        (["profile=gpu"], ("model", "max_seq_length"), 256),
        (["model=mpnet"], ("model", "name"), "sentence-transformers/all-mpnet-base-v2"),
        (["train.loss=contrastive"], ("train", "loss"), "contrastive"),
        (["profile=gpu", "train.epochs=0"], ("train", "epochs"), 0),
        (["profile=full"], ("index", "type"), "ivfpq"),
        (["profile=full"], ("subsample", "corpus_max_papers"), None),
        (["profile=full"], ("model", "max_seq_length"), 256),
        (["profile=full", "embed.engine=ray"], ("embed", "engine"), "ray"),
    ],
)
def test_overrides_compose(tmp_path: Path, overrides: list[str], key: tuple, value) -> None:
    params = compose(tmp_path, overrides)
    assert params[key[0]][key[1]] == value


def test_dvc_yaml_params_exist() -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for key in stage.get("params", []):
            node = params
            for part in key.split("."):
                assert part in node, f"stage {name} lists param {key} that params.yaml lacks"
                node = node[part]
        module = stage["cmd"].split(" -m ")[-1]  # `python -m X` or `torchrun ... -m X`
        assert f"{module.replace('.', '/')}.py" in stage["deps"], f"stage {name} must depend on its script"
    assert os.path.isfile(ROOT / params["data"]["source"])
