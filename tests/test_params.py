"""params.yaml is exactly what DVC's Hydra composition of configs/ produces, and dvc.yaml only names real keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from arxiv_embed.errors import ParamError
from arxiv_embed.params import read_stage_params
from tests.conftest import SET_UP, committed_params, copy_repo, run

ROOT = Path(__file__).resolve().parents[1]


def compose(tmp_path: Path, overrides: list[str]) -> dict:
    out = tmp_path / "params.yaml"
    compose_and_dump(out, str(ROOT / "configs"), None, "config", "", overrides)
    return yaml.safe_load(out.read_text())


def test_committed_params_equal_composition(tmp_path: Path) -> None:
    assert committed_params() == compose(tmp_path, [])


@pytest.mark.parametrize(
    ("overrides", "key", "value"),
    [
        (["profile=gpu"], ("model", "max_seq_length"), 256),
        (["model=mpnet"], ("model", "name"), "sentence-transformers/all-mpnet-base-v2"),
        (["profile=quality"], ("model", "name"), "sentence-transformers/all-mpnet-base-v2"),
        (["profile=quality"], ("train", "epochs"), 0),
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
    params = committed_params()
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, entry in stages.items():
        stage = entry.get("do", entry)  # a `foreach` stage's body
        for key in stage.get("params", []):
            node = params
            for part in key.split("."):
                assert part in node, f"stage {name} lists param {key} that params.yaml lacks"
                node = node[part]
        module = stage["cmd"].split(" -m ")[-1].split()[0]  # `python -m X [arg]` or `torchrun ... -m X`
        assert f"{module.replace('.', '/')}.py" in stage["deps"], f"stage {name} must depend on its script"
    assert os.path.isfile(ROOT / params["data"]["source"])


def stage_params(stage: str):
    """The `Params` dataclass a stage script declares."""
    import importlib

    return importlib.import_module(f"stages.{stage}").Params


@pytest.mark.parametrize(
    ("stage", "section", "key", "value", "message"),
    [
        ("tokenize", "text", "field", "body", "text.field = 'body': Input should be"),
        ("embed", "embed", "device", "gpu", "embed.device = 'gpu': Input should be 'auto', 'cpu' or"),
        ("finetune", "train", "loss", "triplet", "train.loss = 'triplet': Value error, expected one of"),
        ("download", "data", "max_papers", 0, "data.max_papers = 0: Input should be greater than 0"),
        ("subsample", "subsample", "test_papers", -3, "subsample.test_papers = -3: Input"),
        ("embed", "embed", "ray", {"actors": 0, "cpus_per_actor": 1, "gpus_per_actor": 0}, "embed.ray.actors = 0"),
        ("build_index", "index", "typo_key", 1, "unknown key index.typo_key; index takes type, hnsw_m"),
        (
            "export_onnx",
            "onnx",
            "quantize",
            {"op_types": ["Conv"], "per_channel": True, "reduce_range": False},
            "onnx.quantize.op_types.0 = 'Conv': Input should be 'MatMul', 'Attention'",
        ),
    ],
)
def test_a_bad_param_is_one_line_naming_key_value_and_what_is_allowed(
    stage: str, section: str, key: str, value, message: str
) -> None:
    params = committed_params()
    params[section][key] = value
    with pytest.raises(ParamError) as err:
        read_stage_params(params, stage_params(stage))
    assert str(err.value).startswith(f"params.yaml: {message}"), str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_key_or_section_is_named() -> None:
    params = committed_params()
    del params["train"]["seed"]
    with pytest.raises(ParamError, match=r"^params.yaml: train.seed is missing$"):
        read_stage_params(params, stage_params("finetune"))
    del params["tfidf"]
    with pytest.raises(ParamError, match=r"^params.yaml has no section 'tfidf'; expected keys max_features"):
        read_stage_params(params, stage_params("baseline"))


def test_every_stage_reads_its_own_section_and_shared_ones_only() -> None:
    """No stage reads another stage's section: what two stages share is a section of its own (text, model, tfidf,
    and onnx: the parity bars of every stage that writes a served graph),
    or the evaluate section's cut-offs, which the baseline is scored at so that both P@k answer the same question."""
    shared = {"text", "model", "tfidf", "onnx"}
    own = {"download": "data", "finetune": "train", "export_onnx": "onnx", "fit_classifier": "classifier",
           "build_index": "index", "embed": "embed", "subsample": "subsample", "evaluate": "evaluate",
           "adapter": "adapter", "lexical_index": "lexical", "drift": "drift", "recommend": "recommend",
           "export_openvino": "openvino"}  # fmt: skip
    own["baseline"] = "evaluate"
    own["embed_harvest"] = "embed"  # a harvest shard is embedded as the corpus is
    for name, entry in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        stage = entry.get("do", entry)
        foreign = set(stage.get("params", [])) - shared - {own.get(name)}
        assert not foreign, f"stage {name} reads {foreign}"


def test_a_bad_param_stops_the_stage_in_one_line_and_keeps_its_outs(tmp_path: Path) -> None:
    """`python -m stages.download` with data.max_papers: 0 exits 1 with one line, before touching data/raw."""
    params = committed_params()
    params["data"].update(source=str(ROOT / "sources/nick007x-arxiv-papers.yaml"), max_papers=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/part-00000.parquet").write_bytes(b"earlier out")
    proc = run([sys.executable, "-m", "stages.download"], tmp_path, check=False, env={"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: download: params.yaml: data.max_papers = 0: Input should be greater than 0"
    ), proc.stderr
    assert (tmp_path / "data/raw/part-00000.parquet").read_bytes() == b"earlier out"


def test_make_params_keeps_the_data_source_and_adds_the_settings_given(tmp_path: Path) -> None:
    """docs/updates.md's offline harvest: `make params SET=...` after a run on a local file keeps that file."""
    repo = copy_repo(tmp_path / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"]["source"], params["train"]["epochs"] = "../papers.jsonl.gz", 0  # a run's -S settings
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    settings = ["harvest.url=http://127.0.0.1:8765/oai", "harvest.start=2026-12-01", "profile=small"]
    run(["make", "params", SET_UP, f"SET={' '.join(settings)}"], repo)
    expected = compose(tmp_path, ["data.source=../papers.jsonl.gz", *settings])
    assert yaml.safe_load((repo / "params.yaml").read_text()) == expected
    assert expected["train"]["epochs"] == 1  # an override not given again is gone, as the docs say

    before = (repo / "params.yaml").read_bytes()
    bad = run(["make", "-s", "params", SET_UP, "SET=harvest.nope=1"], repo, check=False)
    assert bad.returncode != 0 and "error: make params: Could not override 'harvest.nope'" in bad.stderr
    assert (repo / "params.yaml").read_bytes() == before and not (repo / ".params.draft.yaml").exists()


def test_make_repro_composes_the_default_params_whatever_a_run_left() -> None:
    """`make repro` is `dvc exp run -S data.source=<the default source>`: DVC composes params.yaml from configs/
    with that one setting, so the quickstart's small profile does not carry over."""
    dry = run(["make", "-n", "--no-print-directory", "repro", SET_UP], ROOT).stdout.splitlines()
    default_source = committed_params()["data"]["source"]
    assert f"dvc exp run -S data.source={default_source}" in dry
