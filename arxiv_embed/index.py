"""FAISS inner-product indexes over unit vectors (so scores are cosines), with the papers they hold."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
PAPERS_FILE = "papers.parquet"
INDEX_TYPES = ("flat", "hnsw", "ivf")


@dataclass(frozen=True)
class IndexConfig:
    """The `index` section of params.yaml."""

    type: str
    hnsw_m: int
    hnsw_ef_construction: int
    hnsw_ef_search: int
    ivf_nlist: int
    ivf_nprobe: int


def build_index(vectors: np.ndarray, cfg: IndexConfig) -> faiss.Index:
    """Build the configured index type over L2-normalised float32 vectors."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if cfg.type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif cfg.type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = cfg.hnsw_ef_construction
        index.hnsw.efSearch = cfg.hnsw_ef_search
    elif cfg.type == "ivf":
        nlist = max(1, min(cfg.ivf_nlist, len(vectors) // 39))  # FAISS wants ~39 training points per list
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(cfg.ivf_nprobe, nlist)
    else:
        raise ValueError(f"unknown index.type {cfg.type!r}; expected one of {', '.join(INDEX_TYPES)}")
    index.add(vectors)
    return index


def exact_index(vectors: np.ndarray) -> faiss.Index:
    """The exact reference that approximate indexes are measured against."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_index(path: Path) -> faiss.Index:
    """Read an index; IVF indexes get a direct map so a stored paper's vector can be looked up by position."""
    index = faiss.read_index(str(path))
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.make_direct_map()
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, positions); positions index the papers table, -1 where fewer than k were found."""
    k = min(k, index.ntotal)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
