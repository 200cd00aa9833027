"""The download stage's readers: every accepted format, malformed rows counted, clear errors."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from arxiv_embed.data.sources import read_papers
from arxiv_embed.errors import PipelineError
from tests.conftest import copy_repo, run, set_params


def test_snapshot_jsonl_gz_reads_real_papers(tiny_source: Path, tiny_rows: list[dict]) -> None:
    papers, skipped = read_papers(tiny_source)
    assert len(papers) == len(tiny_rows) and not skipped
    first = papers[0]
    assert first["id"] == tiny_rows[0]["id"]
    assert first["primary_category"] == tiny_rows[0]["categories"].split()[0]
    assert first["categories"] == tiny_rows[0]["categories"]


BAD_ROWS = {"bad_json": 2, "missing_abstract": 1, "missing_title": 1, "missing_id": 1, "missing_category": 1}


def write_mixed_source(path: Path, good: list[dict]) -> Path:
    """Good rows followed by one bad row of each kind in BAD_ROWS."""
    lines = [json.dumps(r) for r in good] + [
        "{not json",
        "[1, 2]",
        json.dumps({**good[0], "id": "x1", "abstract": "   "}),
        json.dumps({**good[0], "id": "x2", "title": None}),
        json.dumps({"title": "no id", "abstract": "a", "categories": "cs.CL"}),
        json.dumps({**good[0], "id": "x3", "categories": ""}),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_malformed_rows_are_skipped_and_counted(tiny_rows: list[dict], tmp_path: Path) -> None:
    good = tiny_rows[:3]
    papers, skipped = read_papers(write_mixed_source(tmp_path / "mixed.jsonl", good))
    assert [p["id"] for p in papers] == [r["id"] for r in good]
    assert skipped == BAD_ROWS


def test_download_stage_finishes_a_mixed_source_and_reports_the_bad_rows(tiny_rows: list[dict], tmp_path: Path) -> None:
    """The real stage under `dvc repro`: the good rows land in the shards, the bad ones in metrics/download.json."""
    source = write_mixed_source(tmp_path / "mixed.jsonl", tiny_rows[:30])
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, {"data": {"source": str(source), "shard_rows": 20}})
    run(["dvc", "repro", "--single-item", "download"], repo)
    data = json.loads((repo / "metrics" / "download.json").read_text())
    assert (data["papers"], data["skipped"], data["skipped_by_reason"]) == (30, 6, BAD_ROWS)
    assert pd.read_parquet(repo / "data" / "raw")["id"].tolist() == [r["id"] for r in tiny_rows[:30]]


def test_hugging_face_layout_in_parquet(tiny_rows: list[dict], tmp_path: Path) -> None:
    rows = [
        {
            "arxiv_id": r["id"],
            "title": r["title"],
            "abstract": r["abstract"],
            "primary_subject": f"Some Subject ({r['categories'].split()[0]})",
            "subjects": "; ".join(f"Subject ({c})" for c in r["categories"].split()),
        }
        for r in tiny_rows[:20]
    ]
    path = tmp_path / "hf.parquet"
    pd.DataFrame(rows).to_parquet(path)
    papers, skipped = read_papers(path)
    assert not skipped
    assert [p["categories"] for p in papers] == [r["categories"] for r in tiny_rows[:20]]


def test_csv_with_limit(tiny_rows: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "abstract", "categories"])
        writer.writeheader()
        writer.writerows(tiny_rows)
    papers, _ = read_papers(path, max_papers=7)
    assert len(papers) == 7


def test_plain_json_lines_with_messy_whitespace(tiny_rows: list[dict], tmp_path: Path) -> None:
    row = {**tiny_rows[0], "title": "  A\n  title ", "abstract": "Line one\n  line two "}
    path = tmp_path / "snapshot.json.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(row) + "\n")
    (paper,), _ = read_papers(path)
    assert paper["title"] == "A title" and paper["abstract"] == "Line one line two"


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.jsonl", "does not exist"), ("papers.txt", "unknown source format")],
)
def test_bad_sources_give_one_clear_error(tmp_path: Path, name: str, message: str) -> None:
    if name.endswith(".txt"):
        (tmp_path / name).write_text("x")
    with pytest.raises(PipelineError, match=message):
        read_papers(tmp_path / name)


def test_unreachable_hub_names_the_offline_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from arxiv_embed.data import hub

    hub.hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = Path(__file__).resolve().parents[1] / "sources" / "nick007x-arxiv-papers.yaml"
    with pytest.raises(PipelineError, match="SAMPLE="):
        read_papers(spec)
    hub.hub_reachable.cache_clear()
