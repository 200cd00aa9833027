"""arXiv's OAI-PMH interface read with sickle: every record added, changed or deleted since a datestamp.

arXiv serves one record per paper in its own `arXiv` metadata format (id, title, abstract, categories with the
primary first), pages the answer behind resumption tokens, and sheds load with `503 Retry-After`; sickle follows
the tokens and honours the header, and `PoliteSickle` adds the pause arXiv asks for between requests.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd
import requests
from pydantic import NonNegativeFloat, NonNegativeInt
from sickle import Sickle, oaiexceptions
from tqdm import tqdm

from arxiv_embed.data.harvest import SHARD_COLUMNS
from arxiv_embed.data.schema import COLUMNS, to_paper
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section

log = logging.getLogger(__name__)

ARXIV_OAI_PREFIX = "oai:arXiv.org:"  # record identifiers are this plus the arXiv id
OAI_ERRORS = tuple(  # the protocol's error answers, which sickle raises as unrelated exception classes
    e for e in vars(oaiexceptions).values() if isinstance(e, type) and issubclass(e, Exception)
)


@params_section
class HarvestConfig:
    """The `harvest` section: where the daily harvest reads and how politely."""

    url: str  # the OAI-PMH endpoint
    metadata_prefix: str  # `arXiv`: id, title, abstract and categories (primary first)
    set: str | None  # an OAI set such as `cs` or `physics:hep-th`; None: every paper
    start: str | None  # YYYY-MM-DD: the first harvest's `from`; later ones start at the last datestamp harvested
    # with no start: the first harvest's `from` is the index's newest paper's day, at most this many days before today
    first_days_back: NonNegativeInt
    delay_seconds: NonNegativeFloat  # pause between requests
    max_retries: NonNegativeInt  # retries of a 503, each after its Retry-After
    timeout_seconds: Count  # of one HTTP request


@dataclass(frozen=True)
class OaiRecord:
    """One harvested record: a paper's metadata (source row layout), or a deletion."""

    paper_id: str
    datestamp: str  # the record's last change (a new version, a metadata edit)
    deleted: bool
    row: dict[str, str]  # id, title, abstract, categories; empty for a deletion
    created: str = ""  # YYYY-MM-DD of the paper's first version (arXiv's `created`); empty where not sent


class PoliteSickle(Sickle):
    """Sickle that waits `delay` seconds between consecutive requests, besides its own 503 Retry-After retries."""

    def __init__(self, endpoint: str, delay: float, **kwargs) -> None:
        super().__init__(endpoint, **kwargs)
        self.delay = delay
        self.requests = 0
        self._last: float | None = None

    def harvest(self, **kwargs):
        if self._last is not None:
            time.sleep(max(0.0, self._last + self.delay - time.monotonic()))
        try:
            return super().harvest(**kwargs)
        finally:
            self._last = time.monotonic()
            self.requests += 1


def _record(item) -> OaiRecord:
    header = item.header
    paper_id = header.identifier.removeprefix(ARXIV_OAI_PREFIX)
    if header.deleted:
        return OaiRecord(paper_id, header.datestamp, True, {})
    meta = item.metadata
    row = {key: " ".join(t for t in meta.get(key, []) if t) for key in ("id", "title", "abstract", "categories")}
    created = next((t for t in meta.get("created", []) if t), "")[:10]
    return OaiRecord(row["id"] or paper_id, header.datestamp, False, row, created)


def list_records(cfg: HarvestConfig, since: str) -> tuple[Iterator[OaiRecord], PoliteSickle]:
    """Every record with a datestamp on or after `since` (YYYY-MM-DD), deletions included, in the server's order."""
    client = PoliteSickle(
        cfg.url, cfg.delay_seconds, max_retries=cfg.max_retries, timeout=cfg.timeout_seconds, default_retry_after=10
    )
    query = {"metadataPrefix": cfg.metadata_prefix, "from": since, **({"set": cfg.set} if cfg.set else {})}

    def records() -> Iterator[OaiRecord]:
        try:
            items = client.ListRecords(ignore_deleted=False, **query)
            size = items.resumption_token.complete_list_size if items.resumption_token else None
            for item in tqdm(items, total=int(size) if size else None, desc=f"harvest from {since}", unit="record"):
                yield _record(item)
        except oaiexceptions.NoRecordsMatch:
            return
        except requests.RequestException as err:
            raise PipelineError(
                f"cannot harvest {cfg.url} ({type(err).__name__}); offline? set harvest.url to a reachable "
                "OAI-PMH endpoint (python -m tools.oai_server serves a local file)"
            ) from None
        except OAI_ERRORS as err:
            raise PipelineError(f"{cfg.url} answered with an OAI-PMH error: {type(err).__name__} {err}") from None

    return records(), client


def shard_frame(records: Iterable[OaiRecord]) -> tuple[pd.DataFrame, Counter]:
    """The canonical rows of a harvest, the last record of each paper winning; bad rows counted by reason."""
    latest: dict[str, dict] = {}
    skipped: Counter = Counter()
    for record in records:
        if record.deleted:
            latest[record.paper_id] = {**dict.fromkeys(COLUMNS, ""), "id": record.paper_id}
            latest[record.paper_id].update(datestamp=record.datestamp, created="", deleted=True)
            continue
        paper, reason = to_paper(record.row)
        if paper is None:
            skipped[reason] += 1
            continue
        latest.pop(paper["id"], None)  # re-inserted: rows keep the order of each paper's last record
        latest[paper["id"]] = {**paper, "datestamp": record.datestamp, "created": record.created, "deleted": False}
    frame = pd.DataFrame(list(latest.values()), columns=SHARD_COLUMNS)
    return frame.astype({c: str for c in SHARD_COLUMNS if c != "deleted"}).astype({"deleted": bool}), skipped
