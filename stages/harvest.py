"""`python -m stages.harvest`: fetch what arXiv added, changed or deleted since the last harvest into a new shard.

Not a DVC stage (its input is the network): `make update` runs it, tracks the new shard with `dvc add`, then `dvc
repro` embeds only that shard. It advances the committed harvest.yaml, and writes nothing when nothing is new. Its
`from` is the last day harvested (which may have grown: the records the last shard holds are passed over).
"""

from dataclasses import dataclass

from arxiv_embed.data.harvest import HarvestState, already_harvested, harvest_from, write_shard
from arxiv_embed.data.oai import HarvestConfig, list_records, shard_frame
from arxiv_embed.layout import LAYOUT
from arxiv_embed.search.papers import PAPERS_FILE, newest_first_version
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    harvest: HarvestConfig


def main(params: Params) -> dict:
    cfg = params.harvest
    state = HarvestState.read()
    newest = newest_first_version(LAYOUT.models.served_index / PAPERS_FILE)  # where a first harvest starts
    since = harvest_from(state, cfg.start, cfg.first_days_back, newest)
    records, client = list_records(cfg, since)
    seen = already_harvested(state)
    listed = list(records)  # a shard is built in memory anyway: one day is a few thousand records
    fresh = [r for r in listed if (r.paper_id, r.datestamp) not in seen]
    frame, skipped = shard_frame(fresh)
    report = {
        "from": since,
        "set": cfg.set,
        "requests": client.requests,
        "skipped": dict(skipped),
        "already_harvested": len(listed) - len(fresh),
    }
    if frame.empty:
        return {**report, "shard": None, "papers": 0, "deleted": 0}
    shard = state.next_shard(frame["datestamp"].max())
    path = write_shard(frame, shard)
    state.shards.append(shard)
    state.last_datestamp = frame["datestamp"].max()[:10]
    state.write()
    deleted = int(frame["deleted"].sum())
    return {
        **report,
        "shard": shard,
        "path": str(path),
        "papers": len(frame) - deleted,
        "deleted": deleted,
        "newest_datestamp": state.last_datestamp,
        "shards": len(state.shards),
        "folder": str(LAYOUT.harvest),
    }


if __name__ == "__main__":
    run_stage("harvest", main, Params)
