"""Stage embed: L2-normalised float32 vectors of the whole corpus, and of each split for the classifier.

`embed.engine`: `local` (this process) or `ray` (Ray Data actor pool, local or on a cluster via RAY_ADDRESS).
On CPUs the corpus is encoded with the exported ONNX graph (`embed.onnx_variant`), on GPUs with torch in bf16.
"""

import time
from dataclasses import dataclass

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.subsample import SPLITS
from arxiv_embed.data.text import TextConfig
from arxiv_embed.encode.corpus_embedding import corpus_encoder, embed_corpus, record_encoder, write_split_vectors
from arxiv_embed.encode.settings import EmbedConfig
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    embed: EmbedConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg = params.embed
    spec = corpus_encoder(cfg, LAYOUT)
    start = time.perf_counter()
    with atomic_path(LAYOUT.embeddings, is_dir=True) as tmp:
        corpus_vectors = tmp / LAYOUT.corpus_vectors.name
        papers = embed_corpus(cfg, spec, LAYOUT.corpus, corpus_vectors, params.text.field)
        seconds = time.perf_counter() - start
        write_split_vectors(LAYOUT, SPLITS, corpus_vectors, tmp)
        record_encoder(spec, tmp / LAYOUT.embedded_with.name)
    return {
        "engine": cfg.engine,
        "encoder": spec.name,
        "corpus_vectors": papers,
        "embed_seconds": round(seconds, 2),
        "papers_per_second": round(papers / seconds, 1),
    }


if __name__ == "__main__":
    run_stage("embed", main, Params)
