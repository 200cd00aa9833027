"""Embeddings on disk: one .npz per split holding paper ids and L2-normalised float32 vectors (no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arxiv_embed.atomic import atomic_path


def save_vectors(path: Path, ids: list[str], vectors: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=np.asarray(ids, dtype=str), vectors=np.asarray(vectors, dtype=np.float32))


def load_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return data["ids"], data["vectors"]
