"""Stage lexical_index: TF-IDF postings of the corpus for lexical and hybrid search, and the served mode.

The postings use the served classifier's TF-IDF features (fitted on train only), in the vector index's order. Every
mode of `SEARCH_MODES`, and the hybrid at each fusion weight, is scored by P@10 on val (each val paper excluded
from its own results); the best fusion and the best mode are what the server uses unless a request says otherwise.
"""

import time
from dataclasses import dataclass, replace

import pandas as pd
from tqdm.auto import tqdm

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.shards import iter_batches
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.encode.vectors import load_vectors
from arxiv_embed.evaluation.metrics import neighbour_labels, relevance
from arxiv_embed.layout import CORPUS_DIR, INDEX_DIR, METRICS_DIR, MODELS_DIR, adapted_path, split_path
from arxiv_embed.search.index import VectorIndex
from arxiv_embed.search.lexical import LEXICAL_FILES, LexicalIndex, write_postings
from arxiv_embed.search.modes import (
    FUSION_WEIGHTS,
    SEARCH_MODES,
    Fusion,
    LexicalConfig,
    Searcher,
    save_search_spec,
)
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from arxiv_embed.stage import run_stage

SELECTION_K = 10  # modes and fusion weights are compared by P@10 on val
LEXICAL_DIR = MODELS_DIR / "lexical"


@dataclass(frozen=True)
class Params:
    lexical: LexicalConfig
    text: TextConfig


def corpus_rows(features: TfidfFeatures, positions: dict[str, int], field: str) -> list:
    """Each corpus paper's TF-IDF row, at its position in the vector index."""
    rows: list = [None] * len(positions)
    with tqdm(total=len(positions), desc="tf-idf corpus") as bar:
        for chunk in iter_batches(CORPUS_DIR, ["id", "title", "abstract"]):
            texts = build_texts(chunk["title"].to_pylist(), chunk["abstract"].to_pylist(), field)
            for paper_id, text in zip(chunk["id"].to_pylist(), texts, strict=True):
                rows[positions[paper_id]] = features.transform(text)
            bar.update(chunk.num_rows)
    return rows


def main(params: Params) -> dict:
    cfg, field = params.lexical, params.text.field
    papers = PaperStore(INDEX_DIR / PAPERS_FILE)
    corpus_ids, corpus_labels = papers.column("id"), papers.column("category")
    features = TfidfFeatures.load(MODELS_DIR / "classifier")
    index = VectorIndex(INDEX_DIR)
    val_ids, val_vectors = load_vectors(adapted_path("val"))
    val = pd.read_parquet(split_path("val")).set_index("id").loc[val_ids]
    val_texts = build_texts(val["title"], val["abstract"], field)
    start = time.perf_counter()
    rows = corpus_rows(features, {paper_id: i for i, paper_id in enumerate(corpus_ids)}, field)
    with atomic_path(LEXICAL_DIR, is_dir=True) as tmp:
        stats = write_postings(rows, features.size, tmp)
        build_seconds = time.perf_counter() - start
        searcher = Searcher(index, LexicalIndex(tmp, index.ntotal), features, Fusion(0.5, cfg.rrf_k, cfg.candidates))

        query_ms: dict[str, float] = {}

        def val_precision(mode: str) -> float:
            start = time.perf_counter()
            _, positions = searcher.run(mode, val_vectors, val_texts, SELECTION_K + 1)
            query_ms[mode] = round((time.perf_counter() - start) * 1000 / len(val_ids), 3)
            labels = neighbour_labels(val_ids, positions, corpus_ids, corpus_labels, SELECTION_K)
            return round(float(relevance(val["primary_category"].to_numpy(), labels).mean()), 4)

        by_mode = {mode: val_precision(mode) for mode in SEARCH_MODES if mode != "hybrid"}
        by_weight = {}
        for weight in FUSION_WEIGHTS:
            searcher.fusion = replace(searcher.fusion, weight=weight)
            by_weight[weight] = val_precision("hybrid")
        best_weight = max(FUSION_WEIGHTS, key=lambda w: (by_weight[w], w))  # ties: more dense
        by_mode["hybrid"] = by_weight[best_weight]
        default_mode = max(SEARCH_MODES, key=lambda m: (by_mode[m], m == "dense"))  # ties: dense
        fusion = Fusion(best_weight, cfg.rrf_k, cfg.candidates)
        save_search_spec(tmp, fusion, default_mode, val_p_at_10=by_mode)
        sizes = {name: (tmp / name).stat().st_size for name in LEXICAL_FILES}
    with atomic_path(METRICS_DIR / "search_fusion.csv") as tmp:
        pd.DataFrame(by_weight.items(), columns=["dense_weight", "val_p@10"]).to_csv(tmp, index=False)
    return {
        "default_mode": default_mode,
        "dense_weight": best_weight,
        **{f"val_p@10_{mode}": p for mode, p in by_mode.items()},
        **stats,
        "bytes": sizes,
        "build_seconds": round(build_seconds, 2),
        "val_query_ms": query_ms,  # per query, one at a time for lexical and the fusion, batched for dense
    }


if __name__ == "__main__":
    run_stage("lexical", main, Params)
