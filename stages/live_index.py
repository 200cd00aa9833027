"""Stage live_index: the served index, the base index plus every harvested shard that harvest.yaml lists.

Its out persists between runs (`persist: true` in dvc.yaml), so a run adds only the shards that are new since
the last one; `arxiv_embed.search.live_index` says when it starts from the base instead, with the same result.
"""

import time
from dataclasses import dataclass

from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.harvest import HarvestState
from arxiv_embed.data.text import TextConfig
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import LAYOUT
from arxiv_embed.search.live_index import Shard, grow
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    text: TextConfig


def main(params: Params) -> dict:
    models = LAYOUT.models
    shards = [Shard(name, LAYOUT.update(name)) for name in HarvestState.read().shards]
    missing = [s.name for s in shards if not s.folder.is_dir()]
    if missing:
        raise PipelineError(f"harvest shard {missing[0]} has no {LAYOUT.update(missing[0])}: run dvc repro")
    features = TfidfFeatures.load(models.classifier)
    start = time.perf_counter()
    report = grow(models.base_index, models.lexical, shards, features, params.text.field, models.served_index)
    return {**report, "grow_seconds": round(time.perf_counter() - start, 3)}


if __name__ == "__main__":
    run_stage("live_index", main, Params)
