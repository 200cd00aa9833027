"""`make quickstart` from a fresh clone: the small profile up to the bundle, the server on loopback, one answer."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import SET_UP, copy_repo, read_slice, run
from tools.processes import free_port
from tools.quickstart import answer_in

CATEGORIES = ("cs.CL", "cs.CV", "math.AP", "astro-ph.GA", "quant-ph", "hep-th")


@pytest.mark.e2e  # the small profile's pipeline and the server
def test_quickstart_serves_an_answer_from_a_fresh_clone(tmp_path: Path, sample: Path) -> None:
    """On a slice of the sample big enough for the small profile's splits (`python -m benchmarks.quickstart` times
    the whole sample)."""
    source = tmp_path / "papers.jsonl.gz"
    with gzip.open(source, "wt") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in read_slice(sample, CATEGORIES, 250))
    repo = copy_repo(tmp_path / "clone")
    port = free_port()
    out = run(["make", "quickstart", SET_UP, f"SAMPLE={source}", f"PORT={port}", "CHECK=1"], repo, timeout=1500)
    assert f"curl -s localhost:{port}/search -H 'content-type: application/json'" in out.stdout
    assert f"curl -s localhost:{port}/classify" in out.stdout  # --check ran every printed line through bash
    answer = answer_in(out.stdout)
    assert len(answer["results"]) == 3 and all(hit["title"] and hit["score"] for hit in answer["results"])
    assert not (repo / ".serve.pid").exists()  # the server is gone, and so is its pid
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    assert shown[0]["data"]["params"]["params.yaml"]["data"]["subsample"]["corpus_max_papers"] == 5000
    assert json.loads((repo / "metrics/subsample.json").read_text())["corpus_papers"] == 250 * len(CATEGORIES)
    assert json.loads((repo / "metrics/finetune.json").read_text())["rows"] == 0  # the pretrained encoder
    recommend = json.loads((repo / "metrics/recommend.json").read_text())
    assert recommend["default_method"] and recommend["test"] == []  # chosen on val; no test report on its path


def test_quickstart_without_a_source_or_the_hub_says_what_to_do(tmp_path: Path) -> None:
    proc = run(
        [sys.executable, "-m", "tools.quickstart"], copy_repo(tmp_path), check=False, env={"HF_HUB_OFFLINE": "1"}
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: the Hugging Face hub does not answer: run on a local file, make quickstart "
        "SAMPLE=path/to/papers.jsonl.gz (arXiv snapshot JSON lines, Parquet or CSV)"
    )
