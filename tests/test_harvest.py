"""The harvest against a local OAI-PMH server: sickle follows resumption tokens, waits out a 503, keeps
deletions and new versions, filters by set, and every problem is one clear line."""

from __future__ import annotations

from datetime import date
from itertools import islice
from pathlib import Path

import pandas as pd
import pytest

from arxiv_embed.data.harvest import HarvestState, already_harvested, harvest_from, read_shard, write_shard
from arxiv_embed.data.oai import HarvestConfig, list_records, shard_frame
from arxiv_embed.data.sources import PaperStream
from arxiv_embed.errors import PipelineError
from tools.oai_server import OaiServer, Served, served_papers


def config(url: str, **changes) -> HarvestConfig:
    values = dict(
        url=url,
        metadata_prefix="arXiv",
        set=None,
        start="2026-11-01",
        first_days_back=2,
        delay_seconds=0.0,
        max_retries=2,
        timeout_seconds=10,
    )
    return HarvestConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def papers(sample: Path) -> list[dict]:
    return list(islice(PaperStream(sample), 5000, 5130))


def test_pages_retry_deletions_and_versions(papers: list[dict]) -> None:
    records = served_papers(papers[:120], "2026-12-01")
    records += [
        Served(papers[0]["id"], "2026-12-02", "A new title", papers[0]["abstract"], papers[0]["categories"]),
        Served(papers[1]["id"], "2026-12-02", deleted=True),
        Served("bad.0001", "2026-12-02", "", "no title", "cs.LG"),
        Served("1905.01234", "2026-12-02", "Revised", "An old paper's third version.", "cs.LG", created="2019-05-02"),
    ]
    with OaiServer(records, page_size=25, unavailable=1, retry_after=1) as server:
        stream, client = list_records(config(server.url), "2026-11-30")
        frame, skipped = shard_frame(stream)
    assert sum("resumptionToken" in q for q in server.requests) == 4  # 124 records in pages of 25
    assert server.requests[0] == server.requests[1]  # the 503 was retried as it was
    assert client.requests == 5 and len(server.requests) == 6 and skipped == {"missing_title": 1}
    assert len(frame) == 121 and frame["deleted"].sum() == 1
    by_id = frame.set_index("id")
    assert by_id.loc["1905.01234", "created"] == "2019-05-02"  # the first version's date, apart from the datestamp
    assert by_id.loc[papers[2]["id"], "created"] == "2026-12-01" and by_id.loc[papers[1]["id"], "created"] == ""
    assert by_id.loc[papers[0]["id"], "title"] == "A new title"  # the newest record of a paper wins
    assert by_id.loc[papers[0]["id"], "datestamp"] == "2026-12-02"
    assert bool(by_id.loc[papers[1]["id"], "deleted"])
    assert by_id.loc[papers[2]["id"], "primary_category"] == papers[2]["categories"].split()[0]


def test_set_and_from_filter_what_is_fetched(papers: list[dict]) -> None:
    records = served_papers(papers[:60], "2026-11-20") + served_papers(papers[60:], "2026-12-01")
    with OaiServer(records) as server:
        frame, _ = shard_frame(list_records(config(server.url, set="cs"), "2026-11-25")[0])
        nothing, _ = shard_frame(list_records(config(server.url), "2027-01-01")[0])
    expected = [p["id"] for p in papers[60:] if p["categories"].startswith("cs.")]
    assert frame["id"].tolist() == expected and nothing.empty


def test_offline_and_bad_answers_are_one_line() -> None:
    with pytest.raises(PipelineError, match="cannot harvest .*offline"):
        shard_frame(list_records(config("http://127.0.0.1:9/oai", max_retries=0), "2026-12-01")[0])
    with OaiServer([]) as server, pytest.raises(PipelineError, match="OAI-PMH error"):
        shard_frame(list_records(config(server.url, metadata_prefix="oai_dc"), "2026-12-01")[0])
    with OaiServer([], unavailable=5) as server, pytest.raises(PipelineError, match="HTTPError"):
        shard_frame(list_records(config(server.url, max_retries=1), "2026-12-01")[0])


def test_state_and_append_only_shards(tmp_path: Path) -> None:
    state_file = tmp_path / "harvest.yaml"
    state = HarvestState.read(state_file)
    assert harvest_from(state, None, 2, today=date(2026, 12, 3)) == "2026-12-01"  # a first update needs no start
    # the first update starts at the index's newest paper, so none between the snapshot and today is missed ...
    assert harvest_from(state, None, 30, newest=date(2026, 11, 20), today=date(2026, 12, 3)) == "2026-11-20"
    # ... unless that is more than first_days_back days ago
    assert harvest_from(state, None, 30, newest=date(2026, 1, 1), today=date(2026, 12, 3)) == "2026-11-03"
    with pytest.raises(PipelineError, match=r"^harvest.start = 'monday' is not a date"):
        harvest_from(state, "monday", 2)
    assert harvest_from(state, "2026-11-30", 2) == "2026-11-30"
    frame = pd.DataFrame(
        [
            {
                "id": "1",
                "title": "t",
                "abstract": "a",
                "primary_category": "cs.LG",
                "categories": "cs.LG",
                "datestamp": "2026-12-01",
                "deleted": False,
            }
        ]
    )
    name = state.next_shard("2026-12-01")
    write_shard(frame, name, tmp_path)
    with pytest.raises(PipelineError, match="append-only"):
        write_shard(frame, name, tmp_path)
    state.shards.append(name)
    state.last_datestamp = "2026-12-01"
    state.write(state_file)
    again = HarvestState.read(state_file)
    assert again == state and name == "0001-2026-12-01" and again.next_shard("2026-12-02") == "0002-2026-12-02"
    assert harvest_from(again, "2026-11-30", 2) == "2026-12-01"  # the last day again: it may have grown since
    assert read_shard(tmp_path / f"{name}.parquet").equals(frame.assign(created=""))  # a shard from before `created`
    assert already_harvested(again, tmp_path) == {("1", "2026-12-01")}  # the day the next harvest lists again
    assert already_harvested(HarvestState("2026-12-01", ["0009-2026-12-01"]), tmp_path) == set()  # not pulled
    state_file.write_text("shards: []\nlast: x\n")
    with pytest.raises(PipelineError, match="unknown key 'last'"):
        HarvestState.read(state_file)
