"""A real `dvc repro` of all stages on a tiny slice of real papers, then DVC's promises about it."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, TINY_PARAMS, run, set_params
from tests.helpers import wait_until
from tools.exp_table import experiments

pytestmark = pytest.mark.e2e

OUTS = [
    "data/raw/part-00000.parquet",
    "data/raw/part-00002.parquet",
    "data/processed/train.parquet",
    "data/tokens/train.npz",
    "data/processed/val.parquet",
    "data/processed/test.parquet",
    "data/processed/corpus/part-00002.parquet",
    "models/encoder/modules.json",
    "data/embeddings/corpus/part-00002.parquet",
    "data/embeddings/train.npz",
    "data/embeddings/test.npz",
    "models/classifier/classifier.npz",
    "models/index/index.faiss",
    "models/index/papers.sqlite",
    "models/onnx/model.onnx",
    "models/onnx/model_int8.onnx",
    "models/onnx/tokenizer.json",
    "data/adapted/corpus/part-00002.parquet",
    "data/adapted/test.npz",
    "models/adapter/adapter.npz",
    "models/adapter/onnx/model_int8.onnx",
    "models/adapter/sentence-transformers/modules.json",
    "models/lexical/postings_docs.npy",
    "models/lexical/search.json",
    "models/live_index/index.faiss",
    "models/live_index/papers.sqlite",
    "models/live_index/postings_docs.npy",
    "models/live_index/removed.npy",
    "models/live_index/contents.json",
    "models/manifest.json",
]


def metrics(repo: Path, name: str) -> dict:
    return json.loads((repo / "metrics" / f"{name}.json").read_text())


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([\w@.-]+)'", output))


def test_every_out_and_metric(pipeline_repo: Path, tiny_rows: list[dict]) -> None:
    for out in OUTS:
        assert (pipeline_repo / out).is_file(), out
    data = metrics(pipeline_repo, "download")
    assert data["papers"] == len(tiny_rows) and data["skipped"] == 0 and data["shards"] == 3
    sub = metrics(pipeline_repo, "subsample")
    assert sub["categories"] == 5 and sub["train_papers"] + sub["val_papers"] + sub["test_papers"] == len(tiny_rows)
    assert sub["corpus_papers"] == len(tiny_rows)
    assert sub["pool_papers"] == sub["train_papers"]  # the corpus is the whole slice: the pool is its train split
    embed = metrics(pipeline_repo, "embed")
    assert embed == {**embed, "engine": "local", "encoder": "onnx-int8", "corpus_vectors": len(tiny_rows)}
    train = metrics(pipeline_repo, "finetune")
    assert train["rows"] == 48 and train["final_loss"] is not None and train["device"] == "cpu"
    assert train["world_size"] == 1 and train["texts_per_second"] > 0
    assert {"torch", "sentence-transformers", "transformers"} <= set(train["versions"])
    tokens = metrics(pipeline_repo, "tokenize")
    assert tokens["texts"] == sub["train_papers"] and 0 < tokens["mean_length"] <= 64
    live = json.loads((pipeline_repo / "dvclive/finetune/metrics.json").read_text())  # DVCLive's, every step
    steps = {}
    for name in ("loss", "learning_rate"):
        rows = (pipeline_repo / f"dvclive/finetune/plots/metrics/{name}.tsv").read_text().splitlines()
        assert rows[0] == f"step\t{name}", rows[0]
        steps[name] = [int(row.split("\t")[0]) for row in rows[1:]]
    assert steps["loss"] == steps["learning_rate"] == list(range(live["step"]))
    assert round(live["loss"], 4) == train["final_loss"]  # what `dvc exp show` lists: the last step's
    assert any((pipeline_repo / "wandb").glob("offline-run-*")), "W&B logs offline by default"
    onnx = metrics(pipeline_repo, "export_onnx")
    assert onnx["fp32_min_cosine"] >= 0.999
    ev = metrics(pipeline_repo, "evaluate")
    assert set(ev) >= {"p@1", "p@5", "p@10", "mrr@10", "accuracy", "macro_f1", "seconds"}
    assert ev["corpus"] == len(tiny_rows) and ev["onnx_variant"] == "int8"
    assert {"onnxruntime", "faiss-cpu", "scikit-learn"} <= set(ev["versions"])
    assert 0.3 < ev["p@10"] <= 1 and 0.3 < ev["accuracy"] <= 1
    for name in ("p@10", "accuracy", "embedding_accuracy", "p@10_any_category"):
        assert ev[f"{name}_lo"] <= ev[name] <= ev[f"{name}_hi"], name
    assert ev["p@10_any_category"] >= ev["p@10"]  # sharing the primary category is sharing a category
    assert set(ev["modes"]) == {"dense", "lexical", "hybrid"}
    assert ev["p@10"] == ev["modes"][ev["search_mode"]]["p@10"]  # the headline is the served mode's
    assert 0 <= ev["ece"] <= 1 and 0 <= ev["ece_uncalibrated"] <= 1 and ev["temperature"] > 0
    for part in ("embedding", "tfidf", "knn_vote"):
        assert 0 < ev[f"{part}_accuracy"] <= 1 and 0 <= ev[f"{part}_macro_f1"] <= 1, part
    adapter = metrics(pipeline_repo, "adapter")
    assert adapter["epochs"] > 0 and adapter["train_vectors"] == sub["train_papers"] and adapter["dim"] == ev["dim"]
    for check in ("fp32_vs_stored", "int8_vs_stored", "torch_vs_fp32"):  # queries and the index: the same layers
        assert adapter["parity"][check]["min_cosine"] >= 0.999, check
    lexical = metrics(pipeline_repo, "lexical_index")
    assert lexical["default_mode"] == ev["search_mode"] and lexical["papers"] == len(tiny_rows)
    assert lexical[f"val_p@10_{lexical['default_mode']}"] == max(lexical[f"val_p@10_{m}"] for m in ev["modes"])
    live = metrics(pipeline_repo, "live_index")  # no harvest yet: the base as it is
    assert live["size"] == len(tiny_rows) and live["shards"] == 0 and live["removed"] == 0
    drift = metrics(pipeline_repo, "drift")
    assert drift["shards"] == 0 and drift["retrain_due"] is False and 0 < drift["corpus_nn_similarity_p5"] < 1
    base = metrics(pipeline_repo, "baseline")
    assert set(base) >= {"p@10", "p@10_lo", "accuracy", "accuracy_hi", "macro_f1", "p@10_any_category"}
    assert base["corpus"] == len(tiny_rows)
    clf = metrics(pipeline_repo, "fit_classifier")
    # the blend is chosen on val, by calibrated log loss, among weights that include either model alone
    blends = pd.read_csv(pipeline_repo / "metrics/classifier_blend.csv")
    chosen = blends.loc[blends["val_log_loss"].idxmin()]
    assert chosen["embedding_weight"] == clf["embedding_weight"] and {0.0, 1.0} <= set(blends["embedding_weight"])
    assert clf["val_log_loss"] == round(chosen["val_log_loss"], 4) and clf["val_accuracy"] == round(
        chosen["val_accuracy"], 4
    )
    assert clf["embedding_weight"] == ev["embedding_weight"]
    manifest = json.loads((pipeline_repo / "models/manifest.json").read_text())
    assert set(manifest["versions"]) >= {"torch", "onnxruntime", "faiss-cpu", "scikit-learn"}
    emb = np.load(pipeline_repo / "data/embeddings/test.npz")
    np.testing.assert_allclose(np.linalg.norm(emb["vectors"], axis=1), 1.0, atol=1e-5)
    assert emb["vectors"].dtype == np.float32 and len(emb["ids"]) == sub["test_papers"]
    for plot in ("category_counts", "adapter_loss", "search_fusion"):
        assert (pipeline_repo / "metrics" / f"{plot}.csv").is_file(), plot
    live = pipeline_repo / "dvclive/evaluate"
    assert json.loads((live / "metrics.json").read_text())["p@10"] == ev["p@10"]
    for plot in ("precision_at_k", "eval_per_category", "classifier_f1", "reliability"):
        assert json.loads((live / f"plots/custom/{plot}.json").read_text()), plot  # a list of points
    assert len(json.loads((live / "plots/sklearn/confusion.json").read_text())) == ev["queries"]
    assert (pipeline_repo / "metrics" / "embedding_map.png").read_bytes().startswith(b"\x89PNG")
    shown = run(["dvc", "metrics", "show", "--json"], pipeline_repo).stdout
    assert "metrics/baseline.json" in shown and "metrics/evaluate.json" in shown


def test_second_repro_changes_nothing(pipeline_repo: Path) -> None:
    out = run(["dvc", "repro"], pipeline_repo).stdout
    assert not stages_run(out), out
    assert "up to date" in run(["dvc", "status"], pipeline_repo).stdout


def test_the_suite_stays_green_after_a_run_of_ones_own(pipeline_repo: Path) -> None:
    """The README's commands in the order a newcomer runs them: a pipeline run, then the tests. The run left its
    params and metrics in the workspace (uncommitted, as `make repro-sample` does); the checks of the generated
    pages and params compare against git's copy, so they still pass in that checkout."""
    changed = run(["git", "status", "--porcelain", "--", "params.yaml", "metrics"], pipeline_repo).stdout
    assert "params.yaml" in changed and "metrics/evaluate.json" in changed, changed
    checks = ["tests/test_docs.py", "tests/test_params.py::test_committed_params_equal_composition"]
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *checks], pipeline_repo, timeout=600)
    assert " passed" in out.stdout and "failed" not in out.stdout, out.stdout[-3000:]


CLASSIFIER_RERUNS = ("fit_classifier", "drift", "manifest", "evaluate", "bundle")


def test_classifier_param_reruns_only_downstream(pipeline_repo: Path) -> None:
    run(["git", "add", "-A"], pipeline_repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first run"], pipeline_repo)
    set_params(pipeline_repo, {"classifier": {"C": 0.01}})
    status = run(["dvc", "status"], pipeline_repo).stdout
    assert "fit_classifier" in status and "finetune" not in status and "embed" not in status
    out = run(["dvc", "repro"], pipeline_repo).stdout
    assert stages_run(out) == set(CLASSIFIER_RERUNS), out
    said = f"reruns {', '.join(CLASSIFIER_RERUNS[:-1])} and {CLASSIFIER_RERUNS[-1]}"
    for page in ("results.md", "guarantees.md"):  # the docs say the same
        assert said in " ".join((ROOT / "docs" / page).read_text().split()), page


def test_push_pull_round_trip_through_local_remote(pipeline_repo: Path, tmp_path: Path) -> None:
    run(["dvc", "remote", "add", "-f", "-d", "local", str(tmp_path / "remote")], pipeline_repo)
    run(["dvc", "push"], pipeline_repo)
    before = (pipeline_repo / "models/onnx/model.onnx").read_bytes()
    shutil.rmtree(pipeline_repo / ".dvc" / "cache")
    shutil.rmtree(pipeline_repo / "models" / "onnx")
    run(["dvc", "pull"], pipeline_repo)
    assert (pipeline_repo / "models/onnx/model.onnx").read_bytes() == before
    assert "up to date" in run(["dvc", "status"], pipeline_repo).stdout


def test_pull_request_comment_compares_two_real_runs(pipeline_repo: Path) -> None:
    """Runs after the classifier change above: HEAD holds the first run, the workspace the second."""
    body = run(
        [sys.executable, "-m", "tools.pr_comment", "--base", "HEAD"], pipeline_repo, env={"PYTHONPATH": str(ROOT)}
    ).stdout
    assert "metrics/fit_classifier.json" in body and "val_log_loss_uncalibrated" in body
    assert "classifier.C" in body and "| 10" in body
    assert "| k | HEAD | this PR | change |" in body and "| step | HEAD | this PR | change |" in body


def test_experiment_table_from_dvc_exp_show(pipeline_repo: Path) -> None:
    shown = run(["dvc", "exp", "show", "--json"], pipeline_repo).stdout
    table = run([sys.executable, "-m", "tools.exp_table"], ROOT, input=shown).stdout
    p10 = metrics(pipeline_repo, "evaluate")["p@10"]
    assert "| TF-IDF + linear model (baseline stage) |" in table
    assert any(line.startswith("| workspace |") and f"{p10:.4f}" in line for line in table.splitlines()), table
    saved = pipeline_repo / "experiments.json"  # what the docs' tables read: the same rows, kept in git
    run([sys.executable, "-m", "tools.exp_table", "-n", "workspace", "--save", str(saved)], ROOT, input=shown)
    again = run([sys.executable, "-m", "tools.exp_table"], ROOT, input=saved.read_text()).stdout
    assert again == run([sys.executable, "-m", "tools.exp_table", "-n", "workspace"], ROOT, input=shown).stdout
    # --add: an experiment of another clone goes beside the kept ones, replacing only its own name
    kept = json.loads(saved.read_text())
    assert {"metrics/finetune.json", "metrics/embed.json"} <= set(kept[0]["data"]["metrics"])  # a run's cost
    saved.write_text(json.dumps([{**kept[0], "rev": "elsewhere", "name": "elsewhere"}, kept[0]]))
    run([sys.executable, "-m", "tools.exp_table", "-n", "workspace", "--add", str(saved)], ROOT, input=shown)
    assert [e["name"] for e in json.loads(saved.read_text())] == ["elsewhere", "workspace"]


def metrics_without_timings(repo: Path) -> dict[str, object]:
    """Every metrics file, less each stage's `seconds` (a stage that runs again takes other seconds)."""
    found: dict[str, object] = {}
    for path in sorted((repo / "metrics").iterdir()):
        if path.suffix == ".json":
            data = json.loads(path.read_text())  # a stage's metrics, or a list such as experiments.json
            found[path.name] = {k: v for k, v in data.items() if k != "seconds"} if isinstance(data, dict) else data
        else:
            found[path.name] = path.read_bytes()
    return found


def out_hashes(repo: Path) -> dict[str, str]:
    """The md5 dvc.lock records for each data and model out."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if not out["path"].startswith("metrics/")
    }


def test_sigkill_mid_stage_then_repro_restores_whole_outs(pipeline_repo: Path) -> None:
    """kill -9 while export_onnx writes: DVC removed its outs before running it and the stage writes beside them,
    so no half-written out exists; the next `dvc repro` brings the outs back, identical, and nothing else runs."""
    hashes, before = out_hashes(pipeline_repo), metrics_without_timings(pipeline_repo)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        ["dvc", "repro", "--force", "--single-item", "export_onnx"],
        cwd=pipeline_repo,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def fp32_written() -> bool:  # and int8 next
            assert proc.poll() is None, "export_onnx ended before it was killed"
            return bool(list((pipeline_repo / "models").glob(".onnx.tmp-*/model.onnx")))

        wait_until(fp32_written, 300, "export_onnx to write its fp32 graph", interval=0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (pipeline_repo / "models" / "onnx").exists()
    assert "export_onnx" in run(["dvc", "status"], pipeline_repo).stdout
    out = run(["dvc", "repro"], pipeline_repo).stdout
    # restored from the run cache, or run again where the cache lacks that record (the push/pull test wipes it)
    assert stages_run(out) <= {"export_onnx"}, out
    assert "up to date" in run(["dvc", "status"], pipeline_repo).stdout
    assert out_hashes(pipeline_repo) == hashes
    assert metrics_without_timings(pipeline_repo) == before


def queue_states(repo: Path) -> dict[str, str]:
    """Experiment name -> its status, from the table `dvc queue status` prints before its worker summary."""
    rows = itertools.takewhile(str.strip, run(["dvc", "queue", "status"], repo).stdout.splitlines()[1:])
    return {cols[1]: cols[-1] for cols in map(str.split, rows)}


def start_workers(repo: Path, count: int) -> None:
    """`dvc queue start -j N` with its output to a file: the workers it spawns outlive it, and a worker whose
    monitor decided to stop while its last task still ran can linger; a pipe shared with them would never close."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with open(repo / "queue-start.log", "w") as log:
        subprocess.run(
            ["dvc", "queue", "start", "-j", str(count)], cwd=repo, env=env, stdout=log, stderr=log, check=True
        )


def stop_workers(repo: Path) -> None:
    """End every queue worker of `repo` (their pid files), so none outlives the test."""
    for pid_file in (repo / ".dvc/tmp/exps/celery").glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def test_two_queued_experiments_run_at_once_without_touching_each_other(pipeline_repo: Path, tiny_source: Path) -> None:
    """Two experiments run side by side (`dvc queue start -j 2`), each in its own workspace; each one's metrics equal
    a serial run of its params, and the workspace's outs are untouched."""
    workspace = (pipeline_repo / "dvc.lock").read_text()
    # `dvc exp run` composes params.yaml from configs/ again: the tiny run's settings go in as overrides
    tiny = [f"{section}.{key}={value}" for section, values in TINY_PARAMS.items() for key, value in values.items()]
    overrides = [arg for setting in (*tiny, f"data.source={tiny_source}") for arg in ("-S", setting)]
    for name, c in (("c-small", 0.1), ("c-large", 3.0)):
        run(["dvc", "exp", "run", "--queue", "-n", name, *overrides, "-S", f"classifier.C={c}"], pipeline_repo)
    try:
        start_workers(pipeline_repo, 2)

        def finished() -> dict[str, str] | None:
            states = queue_states(pipeline_repo)
            return None if {"Queued", "Running"} & set(states.values()) else states

        states = wait_until(finished, 600, "the queued experiments to finish", interval=2)
    finally:
        stop_workers(pipeline_repo)
    logs = {name: run(["dvc", "queue", "logs", name], pipeline_repo, check=False).stdout for name in states}
    assert states == {"c-small": "Success", "c-large": "Success"}, {name: log[-2000:] for name, log in logs.items()}
    assert all(stages_run(log) == set(CLASSIFIER_RERUNS) for log in logs.values()), logs
    assert (pipeline_repo / "dvc.lock").read_text() == workspace
    assert "up to date" in run(["dvc", "status"], pipeline_repo).stdout
    shown = json.loads(run(["dvc", "exp", "show", "--json"], pipeline_repo).stdout)
    results = {name: data["metrics"]["metrics/fit_classifier.json"]["data"] for name, data in experiments(shown)}
    assert results["c-small"] != results["c-large"]
    set_params(pipeline_repo, {"classifier": {"C": 3.0}})
    run(["dvc", "repro"], pipeline_repo)
    serial = metrics(pipeline_repo, "fit_classifier")
    assert {k: v for k, v in results["c-large"].items() if k != "seconds"} == {
        k: v for k, v in serial.items() if k != "seconds"
    }
