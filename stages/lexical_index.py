"""Stage lexical_index: TF-IDF postings of the corpus for lexical and hybrid search, and the served mode.

The postings use the served classifier's TF-IDF features (fitted on train only), in the base index's order; the
served mode and fusion weight are the best on val (`arxiv_embed.search.mode_selection`).
"""

import time
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.text import TextConfig
from arxiv_embed.layout import LAYOUT
from arxiv_embed.search.index import VectorIndex
from arxiv_embed.search.lexical import LEXICAL_FILES, corpus_rows, write_postings
from arxiv_embed.search.mode_selection import ValQueries, choose_mode
from arxiv_embed.search.modes import Fusion, LexicalConfig, SearchSpec, searcher_over
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    lexical: LexicalConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, field, models = params.lexical, params.text.field, LAYOUT.models
    papers = PaperStore(models.base_index / PAPERS_FILE)
    features, index = TfidfFeatures.load(models.classifier), VectorIndex(models.base_index)
    val = split_vectors(LAYOUT.adapted_split("val"), LAYOUT.split("val"))
    queries = ValQueries(val, val.texts(field), papers.column("id"), papers.column("category"))
    start = time.perf_counter()
    rows = corpus_rows(LAYOUT.corpus, features, {paper_id: i for i, paper_id in enumerate(queries.corpus_ids)}, field)
    with atomic_path(models.lexical, is_dir=True) as tmp:
        stats = write_postings(rows, features.size, tmp)
        build_seconds = time.perf_counter() - start
        searcher = searcher_over(models, index, tmp, features, Fusion(0.5, cfg.rrf_k, cfg.candidates), "dense")
        choice = choose_mode(searcher, queries)
        SearchSpec.of(choice.fusion, choice.default_mode, choice.by_mode).save(tmp)
        sizes = {name: (tmp / name).stat().st_size for name in LEXICAL_FILES}
    with atomic_path(LAYOUT.plot("search_fusion")) as tmp:
        pd.DataFrame(choice.by_weight.items(), columns=["dense_weight", "val_p@10"]).to_csv(tmp, index=False)
    return {
        "default_mode": choice.default_mode,
        "dense_weight": choice.fusion.weight,
        **{f"val_p@10_{mode}": p for mode, p in choice.by_mode.items()},
        **stats,
        "bytes": sizes,
        "build_seconds": round(build_seconds, 2),
        "val_query_ms": choice.query_ms,  # per query, one at a time for lexical and the fusion, batched for dense
    }


if __name__ == "__main__":
    run_stage("lexical_index", main, Params)
