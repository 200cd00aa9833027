"""The harvest's committed state and its append-only shards: one Parquet file of papers and deletions per harvest.

`harvest.yaml` (in git) holds the last datestamp harvested and the list of shards; dvc.yaml's `foreach` reads
that list, so each new shard adds one `embed_harvest@<shard>` stage and no old one re-runs. The shards themselves
(`data/harvest/`, tracked with `dvc add`) hold the canonical columns of `download` plus the OAI datestamp (the
record's last change), the date of the paper's first version (`created`, empty where the server sends none) and
whether the record is a deletion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.schema import COLUMNS
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import LAYOUT

SHARD_COLUMNS = [*COLUMNS, "datestamp", "created", "deleted"]
# What embed_harvest writes for each shard under data/updates/<shard>/:
SHARD_PAPERS, SHARD_VECTORS, SHARD_INFO = "papers.parquet", "vectors.npz", "shard.json"
_STATE_HEADER = (
    "# The daily harvest's state, written by `python -m stages.harvest` (make update); dvc.yaml's foreach reads\n"
    "# `shards` (one embed_harvest stage each). last_datestamp is the next harvest's OAI-PMH `from`.\n"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass
class HarvestState:
    last_datestamp: str | None = None
    shards: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path = LAYOUT.harvest_state) -> HarvestState:
        if not path.is_file():
            return cls()
        values = yaml.safe_load(path.read_text()) or {}
        unknown = set(values) - {"last_datestamp", "shards"}
        if unknown:
            raise PipelineError(f"{path}: unknown key {sorted(unknown)[0]!r}; it holds last_datestamp and shards")
        return cls(values.get("last_datestamp"), list(values.get("shards") or []))

    def write(self, path: Path = LAYOUT.harvest_state) -> None:
        body = yaml.safe_dump({"last_datestamp": self.last_datestamp, "shards": self.shards}, sort_keys=False)
        with atomic_path(path) as tmp:
            tmp.write_text(_STATE_HEADER + body)

    def next_shard(self, newest_datestamp: str) -> str:
        """Names sort in harvest order and say the newest day they hold: `0003-2026-12-01`."""
        return f"{len(self.shards) + 1:04d}-{newest_datestamp[:10]}"


def harvest_from(
    state: HarvestState, start: str | None, days_back: int, newest: date | None = None, today: date | None = None
) -> str:
    """The OAI `from` of the next harvest: the last datestamp harvested (inclusive: a day may have grown since);
    before the first one, `start`, or else the day of the index's `newest` paper, so that the papers between the
    corpus's snapshot and today enter the index, but no more than `days_back` days before today (UTC); a first
    `make update` needs no setting."""
    since = state.last_datestamp or start
    if since is None:
        bound = (today or datetime.now(UTC).date()) - timedelta(days=days_back)
        return max(bound, newest or bound).isoformat()
    if not _DATE.match(since):
        raise PipelineError(f"harvest.start = {since!r} is not a date: set YYYY-MM-DD, or null ({days_back} days back)")
    return since[:10]


def already_harvested(state: HarvestState, folder: Path = LAYOUT.harvest) -> set[tuple[str, str]]:
    """(id, datestamp) of the records the last shard holds from its newest day, which the next harvest lists again
    (its `from` is that day); without the shard on disk (not pulled), none."""
    if not state.shards or not (folder / f"{state.shards[-1]}.parquet").is_file():
        return set()
    last = read_shard(folder / f"{state.shards[-1]}.parquet")
    last = last[last["datestamp"].str[:10] == state.last_datestamp]
    return set(zip(last["id"], last["datestamp"], strict=True))


def write_shard(frame: pd.DataFrame, name: str, folder: Path = LAYOUT.harvest) -> Path:
    path = folder / f"{name}.parquet"
    if path.exists():
        raise PipelineError(f"{path} exists already: shards are append-only (is {LAYOUT.harvest_state} out of date?)")
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def read_shard(path: Path) -> pd.DataFrame:
    """A shard's rows; one harvested before shards kept `created` reads with it empty."""
    frame = pd.read_parquet(path)
    if "created" not in frame.columns:
        frame["created"] = ""
    missing = [c for c in SHARD_COLUMNS if c not in frame.columns]
    if missing:
        raise PipelineError(f"{path} is not a harvest shard: no column {missing[0]!r}")
    return frame
