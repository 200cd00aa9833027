"""Stage embed: L2-normalised float32 embeddings of every split with the fine-tuned encoder."""

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.layout import EMBEDDINGS_DIR, ENCODER_DIR, split_path
from arxiv_embed.models import load_trained_encoder
from arxiv_embed.stage import run_stage
from arxiv_embed.subsample import SPLITS
from arxiv_embed.text import build_texts
from arxiv_embed.training import pick_device
from arxiv_embed.vectors import save_vectors


def main(params: dict) -> dict:
    model = load_trained_encoder(ENCODER_DIR, pick_device(params["train"]["device"]))
    counts = {}
    with atomic_path(EMBEDDINGS_DIR, is_dir=True) as tmp:
        for split in SPLITS:
            df = pd.read_parquet(split_path(split))
            texts = build_texts(df["title"], df["abstract"], params["text"]["field"])
            vectors = model.encode(
                texts,
                batch_size=params["embed"]["batch_size"],
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=True,
            )
            save_vectors(tmp / f"{split}.npz", df["id"].tolist(), vectors)
            counts[f"{split}_vectors"] = len(df)
    return {**counts, "dim": int(model.get_sentence_embedding_dimension())}


if __name__ == "__main__":
    run_stage("embed", main)
