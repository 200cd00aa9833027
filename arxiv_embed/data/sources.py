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

from arxiv_embed.data.hub import hub_reachable
from arxiv_embed.data.schema import to_paper
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section

log = logging.getLogger(__name__)

OFFLINE_FIX = "make repro-sample SAMPLE=path/to/arxiv-papers.jsonl.gz"
_JSON_LINES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


@params_section
class DataConfig:
    """The `data` section: which source to read, how much of it, and how many papers per Parquet shard."""

    source: str  # a local .jsonl[.gz] / .json[.gz] / .parquet / .csv file, or a .yaml Hugging Face spec
    max_papers: Count | None  # None: every paper of the source
    shard_rows: Count


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


class PaperStream:
    """Valid canonical papers from a source, one at a time; malformed rows are skipped and counted by reason.

    Nothing is held back: a consumer that writes papers out as they come keeps memory flat whatever the size of
    the source (the Hugging Face dataset is streamed, local files are read line by line or batch by batch).
    """

    def __init__(self, source: str | os.PathLike, max_papers: int | None = None) -> None:
        self.path = Path(source)
        if not self.path.is_file():
            raise PipelineError(f"source file {self.path} does not exist; point to one with {OFFLINE_FIX}")
        self.reader = _READERS[_format_of(self.path)]
        self.max_papers = max_papers
        self.skipped: Counter = Counter()

    def _valid(self) -> Iterator[dict]:
        for row in self.reader(self.path):
            if isinstance(row, _BadRow):
                self.skipped[row["reason"]] += 1
                continue
            paper, reason = to_paper(row)
            if paper is None:
                self.skipped[reason] += 1
            else:
                yield paper

    def __iter__(self) -> Iterator[dict]:
        return islice(self._valid(), self.max_papers) if self.max_papers else self._valid()


def read_papers(source: str | os.PathLike, max_papers: int | None = None) -> tuple[list[dict], Counter]:
    """Every valid paper of a (small) source in a list, with the skipped rows by reason."""
    stream = PaperStream(source, max_papers)
    papers = list(stream)
    log.info("read %d papers from %s, skipped %d", len(papers), stream.path, sum(stream.skipped.values()))
    return papers, stream.skipped
