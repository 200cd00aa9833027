"""The GPU corpus encoder's data path (length order, prefetching thread, padding to 8), checked on CPU in fp32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from arxiv_embed.data.text import build_texts
from arxiv_embed.encode.torch_encoder import TorchCorpusEncoder
from arxiv_embed.train.models import load_sentence_model, resolve_model

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def test_same_vectors_as_sentence_transformers(tiny_rows: list[dict]) -> None:
    texts = build_texts([r["title"] for r in tiny_rows[:40]], [r["abstract"] for r in tiny_rows[:40]], "abstract")
    texts = texts + ["short", ""]  # very short texts and an empty one land in the last batch
    ours = TorchCorpusEncoder(Path(resolve_model(MODEL)), "cpu", batch_size=16, dtype=torch.float32).encode(texts)
    reference = load_sentence_model(MODEL, "cpu").encode(texts, normalize_embeddings=True)
    dim = reference.shape[1]
    assert ours.shape == (len(texts), dim) and ours.dtype == np.float32
    assert np.sum(ours * reference, axis=1).min() >= 0.9999
    assert TorchCorpusEncoder(Path(resolve_model(MODEL)), "cpu", batch_size=16).encode([]).shape == (0, dim)
