"""Stage embed_harvest@<shard>: one harvest shard's papers encoded with the served graph (adapter included).

dvc.yaml runs one such stage per shard that harvest.yaml lists (`foreach`), so a new harvest embeds only its own
papers and a new encoder re-embeds every shard. The out is the shard's rows (deletions included), the vectors
of its papers row for row, and which graph made them.
"""

import sys
import time
from dataclasses import dataclass

from arxiv_embed.data.harvest import read_shard
from arxiv_embed.data.text import TextConfig
from arxiv_embed.encode.parity_report import ParityReport
from arxiv_embed.encode.settings import EmbedConfig
from arxiv_embed.encode.shard_encoder import embed_shard
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    embed: EmbedConfig
    text: TextConfig


def main(params: Params, shard: str) -> dict:
    source, served = LAYOUT.harvest_shard(shard), LAYOUT.models.served_onnx
    if not source.is_file():
        raise PipelineError(f"{source} not found: `dvc pull` it, or drop {shard!r} from harvest.yaml's shards")
    variant = params.embed.onnx_variant
    if variant == "int8" and not ParityReport.load(served).int8_ok:
        raise PipelineError("the int8 served graph failed its parity bar; use -S embed.onnx_variant=fp32")
    start = time.perf_counter()
    info = embed_shard(
        read_shard(source), served, variant, params.text.field, params.embed.max_tokens, LAYOUT.update(shard)
    )
    seconds = time.perf_counter() - start
    return {
        "shard": shard,
        **info,
        "embed_seconds": round(seconds, 2),
        "papers_per_second": round(info["papers"] / max(seconds, 1e-9), 1),
    }


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) == 2 else sys.exit("usage: python -m stages.embed_harvest <shard>")
    run_stage(f"embed_harvest/{name}", lambda params: main(params, name), Params)
