"""Stage embedding_map: t-SNE of test papers with the base model and with the served vectors.

A seeded sample of at most MAP_PAPERS test papers: a picture shows no more with thousands of points, and t-SNE's
time grows with each one.
"""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.data.vectors import load_vectors
from arxiv_embed.evaluation.embedding_map import draw_maps
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage
from arxiv_embed.train.models import ModelConfig, load_sentence_model

MAP_PAPERS = 1000


@dataclass(frozen=True)
class Params:
    model: ModelConfig
    text: TextConfig


def main(params: Params) -> dict:
    test = pd.read_parquet(LAYOUT.split("test"))
    ids, tuned = load_vectors(LAYOUT.adapted_split("test"))
    shown = pd.Series(range(len(ids))).sample(n=min(MAP_PAPERS, len(ids)), random_state=0).sort_values().to_numpy()
    ids, tuned = ids[shown], tuned[shown]
    test = test.set_index("id").loc[ids].reset_index()
    base = load_sentence_model(params.model.name, "cpu", params.model.max_seq_length)
    texts = build_texts(test["title"], test["abstract"], params.text.field)
    before = base.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=True)
    panels = {f"pretrained {params.model.name.split('/')[-1]}": before, "served (fine-tuned + adapter)": tuned}
    with atomic_path(LAYOUT.embedding_map) as tmp:
        draw_maps(panels, test["primary_category"].tolist(), tmp)
    return {"papers": len(test)}


if __name__ == "__main__":
    run_stage("embedding_map", main, Params)
