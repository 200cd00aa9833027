"""Shared fixtures: the real arXiv sample, tiny slices of it, and one real `dvc repro` run for the session."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tools.run_outputs import RUN_OUTPUTS, LastCommit
from tools.sample import DEFAULT_SAMPLE, SAMPLE_ENV

ROOT = Path(__file__).resolve().parents[1]
TINY_CATEGORIES = ("cs.CL", "math.AP", "astro-ph.GA", "q-fin.ST", "cond-mat.str-el")
TINY_PER_CATEGORY = 24
# `make <target> SET_UP` in a copy of the repository: its venv is this one, set up already, so `setup` does nothing
SET_UP = f"VENV={Path(sys.executable).parents[1]}"


E2E_FIXTURES = {"pipeline_repo", "test_papers"}  # a test that reads the tiny run's artifacts is end-to-end


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the tiny `dvc repro` as e2e, so `make test-fast` (-m "not e2e") never builds it."""
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


def missing(message: str) -> None:
    """What a test needs from outside Python is not here: skip it, except under CI=true, where it fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def sample_path() -> Path:
    return Path(os.environ.get(SAMPLE_ENV, DEFAULT_SAMPLE))


@pytest.fixture(scope="session")
def sample() -> Path:
    """The shared real sample; its absence skips data tests, except under CI=true where it fails them."""
    path = sample_path()
    if not path.is_file():
        missing(f"real arXiv sample not found at {path} (set {SAMPLE_ENV} to point elsewhere)")
    return path


def read_slice(path: Path, categories: tuple[str, ...], per_category: int) -> list[dict]:
    """The first `per_category` papers of each category, in file order."""
    taken: Counter = Counter()
    rows = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            primary = row["categories"].split()[0]
            if primary in categories and taken[primary] < per_category:
                taken[primary] += 1
                rows.append(row)
                if len(rows) == per_category * len(categories):
                    break
    return rows


@pytest.fixture(scope="session")
def tiny_rows(sample: Path) -> list[dict]:
    return read_slice(sample, TINY_CATEGORIES, TINY_PER_CATEGORY)


@pytest.fixture(scope="session")
def tiny_source(tiny_rows: list[dict], tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("source") / "tiny.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for row in tiny_rows:
            fh.write(json.dumps(row) + "\n")
    return path


def run(cmd: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command with the test's own virtualenv first on PATH (dvc stages call `python`)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.update(kwargs.pop("env", {}))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


TINY_PARAMS = {
    "data": {"shard_rows": 50},  # 120 papers: three shards, so every stage reads more than one
    "subsample": {"min_papers_to_keep_category": 10, "val_papers": 20, "test_papers": 20},
    "model": {"max_seq_length": 64},
    "train": {"max_pairs": 48, "batch_size": 8, "wandb": "offline"},
    "onnx": {"parity_texts": 16},
    "openvino": {"calibration_texts": 64, "timing_texts": 8},
    "recommend": {
        **{"library_sizes": [1, 5], "interests": [1, 2], "negatives": 20},
        **{"val_readers": 4, "test_readers": 4, "daily_papers": 10},
    },
}


TINY_MPNET_WIDTH = 48  # hidden size of the tiny MPNet, and so the width of everything it serves
MPNET_SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<mask>"]


def committed_params() -> dict:
    """params.yaml as git holds it: a run of the user's own (`make repro-sample`, `dvc exp run`) rewrites the
    workspace's copy."""
    return yaml.safe_load(LastCommit().text("params.yaml"))


def copy_repo(dest: Path) -> Path:
    """A fresh git + DVC checkout of the tracked files, as a user's clone would be: the code as it is in the
    workspace, what a pipeline run rewrites as the last commit holds it."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    last = LastCommit()
    for name in files:
        outs = name.startswith(("data/", "models/")) and name != "data/updates/.gitignore"  # that folder is a dep
        if not (ROOT / name).is_file() or outs:
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        committed = last.content(name) if name.startswith(RUN_OUTPUTS) else None
        if committed is not None:
            (dest / name).write_bytes(committed)
        else:
            shutil.copy2(ROOT / name, dest / name)
    (dest / "dvc.lock").unlink(missing_ok=True)  # the copy starts with no run recorded
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], dest)
    return dest


def set_params(repo: Path, updates: dict) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in updates.items():
        params[section].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="session")
def pipeline_repo(tiny_source: Path, tmp_path_factory) -> Path:
    """One real `dvc repro` of the whole pipeline on the tiny slice; later tests read its artifacts."""
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    set_params(repo, TINY_PARAMS)
    set_params(repo, {"data": {"source": str(tiny_source)}})
    run(["dvc", "repro"], repo, timeout=900)
    return repo


@pytest.fixture(scope="session")
def tiny_mpnet(tmp_path_factory) -> Path:
    """A sentence-transformers folder: a 2-layer MPNet of random weights (seeded) with mean pooling, and an MPNet
    tokenizer over MiniLM's WordPiece vocabulary (MPNet's special tokens first, as in all-mpnet-base-v2)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizerFast

    from arxiv_embed.train.models import resolve_model

    root = tmp_path_factory.mktemp("tiny-mpnet")
    words = (Path(resolve_model("sentence-transformers/all-MiniLM-L6-v2")) / "vocab.txt").read_text().splitlines()
    vocab = MPNET_SPECIAL_TOKENS + [w for w in words if w not in MPNET_SPECIAL_TOKENS]
    tokenizer = MPNetTokenizerFast(vocab={word: i for i, word in enumerate(vocab)})
    config = MPNetConfig(
        vocab_size=len(tokenizer),
        hidden_size=TINY_MPNET_WIDTH,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=2 * TINY_MPNET_WIDTH,
        max_position_embeddings=130,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    MPNetModel(config).save_pretrained(root / "hf")
    tokenizer.save_pretrained(root / "hf")
    modules = [Transformer(str(root / "hf"), max_seq_length=64), Pooling(TINY_MPNET_WIDTH, "mean")]
    SentenceTransformer(modules=modules, device="cpu").save_pretrained(str(root / "model"))
    return root / "model"


@pytest.fixture(scope="session")
def test_papers(pipeline_repo: Path) -> pd.DataFrame:
    """The tiny run's test split: papers that are in the served index but were not trained on."""
    return pd.read_parquet(pipeline_repo / "data/processed/test.parquet")
