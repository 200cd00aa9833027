"""Readers for every source the download stage accepts; each yields raw rows and counts malformed ones.

A source is a path: `.jsonl`, `.jsonl.gz`, `.json`, `.json.gz` (JSON lines, arXiv snapshot layout), `.parquet`,
`.csv`, or a `.yaml` spec that names a Hugging Face dataset (so DVC can hash the spec like any other file).
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from arxiv_embed.errors import PipelineError
from arxiv_embed.hub import hub_reachable
from arxiv_embed.schema import to_paper

log = logging.getLogger(__name__)

OFFLINE_FIX = "dvc exp run -S data.source=/absolute/path/to/arxiv-papers.jsonl.gz"
_JSON_LINES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


class _BadRow(dict):
    """A row that failed to parse; carries its reason through the same stream as good rows."""


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*_JSON_LINES, ".parquet", ".csv", ".yaml", ".yml"):
        if name.endswith(suffix):
            return suffix
    raise PipelineError(
        f"unknown source format for {path}: expected .jsonl[.gz], .json[.gz] (arXiv snapshot lines), "
        ".parquet, .csv, or a .yaml Hugging Face dataset spec"
    )


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                yield _BadRow(reason="bad_json")
                continue
            yield row if isinstance(row, dict) else _BadRow(reason="bad_json")


def _parquet(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        yield from batch.to_pylist()


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(10_000_000)
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        yield from csv.DictReader(fh)


def _hugging_face(spec_path: Path) -> Iterator[dict[str, Any]]:
    spec = yaml.safe_load(spec_path.read_text()) or {}
    name = spec.get("hf_dataset")
    if not name:
        raise PipelineError(f"{spec_path} names no `hf_dataset`; see sources/nick007x-arxiv-papers.yaml")
    if not hub_reachable():
        raise PipelineError(f"the Hugging Face hub is unreachable; run on a local file: {OFFLINE_FIX}")
    import datasets

    try:
        stream = datasets.load_dataset(
            name, split=spec.get("split", "train"), revision=spec.get("revision"), streaming=True
        )
        yield from stream
    except (OSError, ConnectionError, ValueError, RuntimeError) as err:
        raise PipelineError(
            f"cannot read Hugging Face dataset {name!r} ({type(err).__name__}); "
            f"the hub may be unreachable: run on a local file: {OFFLINE_FIX}"
        ) from err


_READERS = {
    ".jsonl": _json_lines,
    ".jsonl.gz": _json_lines,
    ".json": _json_lines,
    ".json.gz": _json_lines,
    ".parquet": _parquet,
    ".csv": _csv,
    ".yaml": _hugging_face,
    ".yml": _hugging_face,
}


def read_papers(source: str | os.PathLike, max_papers: int | None = None) -> tuple[list[dict], Counter]:
    """Read up to `max_papers` valid canonical papers; malformed rows are skipped and counted by reason."""
    path = Path(source)
    if not path.is_file():
        raise PipelineError(f"source file {path} does not exist; point to one with {OFFLINE_FIX}")
    reader = _READERS[_format_of(path)]
    skipped: Counter = Counter()

    def valid() -> Iterator[dict]:
        for row in reader(path):
            if isinstance(row, _BadRow):
                skipped[row["reason"]] += 1
                continue
            paper, reason = to_paper(row)
            if paper is None:
                skipped[reason] += 1
            else:
                yield paper

    papers = list(islice(valid(), max_papers) if max_papers else valid())
    log.info("read %d papers from %s, skipped %d", len(papers), path, sum(skipped.values()))
    return papers, skipped
