"""FAISS inner-product indexes over unit vectors (so scores are cosines), built from vector shards, served mmapped.

Types: `flat` (exact), `hnsw`, `ivf` (IVF-Flat) and `ivfpq` (IVF with product-quantised codes, optionally behind
an OPQ rotation, plus an optional exact re-rank of the top candidates from fp16 vectors). `ivf` and `ivfpq` are
trained on a sample and filled chunk by chunk, so building never needs the corpus in memory; the server opens
every index with `IO_FLAG_MMAP_IFC`, so its memory does not grow with the corpus.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Literal, get_args

import faiss
import numpy as np
from pydantic import NonNegativeInt
from tqdm.auto import tqdm

from arxiv_embed.data.shards import count_rows
from arxiv_embed.data.vectors import iter_vectors, vector_dim
from arxiv_embed.errors import ParamError
from arxiv_embed.params import Count, params_section
from arxiv_embed.search.papers import load_removed

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
INDEX_CONFIG_FILE = "index.json"
RERANK_FILE = "vectors_f16.npy"
CONTENTS_FILE = "contents.json"  # a live index's: the base it grew from and the harvest shards added since
IndexType = Literal["flat", "hnsw", "ivf", "ivfpq"]
INDEX_TYPES = get_args(IndexType)
MIN_POINTS_PER_LIST = 39  # FAISS warns below this many training points per inverted list


@params_section
class IndexConfig:
    """The `index` section of params.yaml."""

    type: IndexType
    hnsw_m: Count
    hnsw_ef_construction: Count
    hnsw_ef_search: Count
    ivf_nlist: Count
    ivf_nprobe: Count
    pq_m: Count  # ivfpq: bytes per vector code (sub-quantisers of 8 bits)
    opq: bool  # ivfpq: learn a rotation first (OPQ), which lowers the quantisation error
    train_size: Count  # ivf/ivfpq: vectors sampled to train the coarse and product quantisers
    rerank: NonNegativeInt  # ivfpq: re-rank this many candidates exactly from fp16 vectors; 0 = off
    seed: int  # ivf/ivfpq: which vectors train the quantisers


def flat_index(cfg: IndexConfig, dim: int, n: int) -> faiss.Index:
    return faiss.IndexFlatIP(dim)


def hnsw_index(cfg: IndexConfig, dim: int, n: int) -> faiss.Index:
    index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = cfg.hnsw_ef_construction
    index.hnsw.efSearch = cfg.hnsw_ef_search
    return index


def _inverted_lists(cfg: IndexConfig, n: int) -> tuple[int, int]:
    """(training vectors, inverted lists): fewer lists than asked when the sample cannot fill them."""
    n_train = min(n, cfg.train_size)
    return n_train, max(1, min(cfg.ivf_nlist, n_train // MIN_POINTS_PER_LIST))


def _ivf_factory(key: str, cfg: IndexConfig, dim: int, nlist: int) -> faiss.Index:
    index = faiss.index_factory(dim, key, faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).nprobe = min(cfg.ivf_nprobe, nlist)
    return index


def ivf_index(cfg: IndexConfig, dim: int, n: int) -> faiss.Index:
    _, nlist = _inverted_lists(cfg, n)
    return _ivf_factory(f"IVF{nlist},Flat", cfg, dim, nlist)


def ivfpq_index(cfg: IndexConfig, dim: int, n: int) -> faiss.Index:
    if dim % cfg.pq_m:
        raise ParamError(f"index.pq_m={cfg.pq_m} must divide the embedding dimension {dim}")
    n_train, nlist = _inverted_lists(cfg, n)
    nbits = min(8, int(np.log2(n_train)))  # each sub-quantiser needs at least 2**nbits training vectors
    key = f"{f'OPQ{cfg.pq_m},' if cfg.opq else ''}IVF{nlist},PQ{cfg.pq_m}x{nbits}"
    return _ivf_factory(key, cfg, dim, nlist)


# Adding an index type is one entry here and its name in `IndexType`; an untrained index is trained on a sample.
INDEX_FACTORIES: dict[str, Callable[[IndexConfig, int, int], faiss.Index]] = {
    "flat": flat_index,
    "hnsw": hnsw_index,
    "ivf": ivf_index,
    "ivfpq": ivfpq_index,
}


def _factory(cfg: IndexConfig, dim: int, n: int) -> faiss.Index:
    if cfg.type not in INDEX_FACTORIES:
        raise ParamError(f"unknown index.type {cfg.type!r}; expected one of {', '.join(INDEX_TYPES)}")
    return INDEX_FACTORIES[cfg.type](cfg, dim, n)


def _training_sample(folder: Path, n: int, size: int, seed: int) -> np.ndarray:
    """A uniform sample of `size` vectors (or all), gathered chunk by chunk."""
    if size >= n:
        return np.concatenate([v for _, v in iter_vectors(folder)])
    wanted = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    parts, start = [], 0
    for _, vectors in iter_vectors(folder):
        end = start + len(vectors)
        rows = wanted[(wanted >= start) & (wanted < end)] - start
        parts.append(vectors[rows])
        start = end
    return np.concatenate(parts)


def build_index(folder: Path, cfg: IndexConfig, out: Path) -> tuple[np.ndarray, dict]:
    """Build the configured index from the vector shards in `folder` into the directory `out`.

    Returns the ids in index order (position i holds ids[i]) and build statistics.
    """
    n, dim = count_rows(folder), vector_dim(folder)
    index = _factory(cfg, dim, n)
    if not index.is_trained:  # only ivf and ivfpq read a training sample before the fill pass
        sample = _training_sample(folder, n, cfg.train_size, cfg.seed)
        log.info("training %s on %d vectors", cfg.type, len(sample))
        index.train(sample)
        del sample
    rerank = cfg.type == "ivfpq" and cfg.rerank > 0
    exact = np.lib.format.open_memmap(out / RERANK_FILE, "w+", np.float16, (n, dim)) if rerank else None
    ids, start = [], 0
    with tqdm(total=n, desc=f"fill {cfg.type} index", unit="vector") as bar:
        for chunk_ids, vectors in iter_vectors(folder):
            index.add(vectors)
            if exact is not None:
                exact[start : start + len(vectors)] = vectors
            ids.append(chunk_ids)
            start += len(vectors)
            bar.update(len(vectors))
    if exact is not None:
        exact.flush()
        del exact
    faiss.write_index(index, str(out / INDEX_FILE))
    served = {"type": cfg.type, "rerank": cfg.rerank if rerank else 0, **_search_params(index)}
    (out / INDEX_CONFIG_FILE).write_text(json.dumps(served, indent=2) + "\n")
    return np.concatenate(ids), {**served, "size": int(index.ntotal), "dim": dim, "config": asdict(cfg)}


def _search_params(index: faiss.Index) -> dict:
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        return {"nlist": int(ivf.nlist), "nprobe": int(ivf.nprobe)}
    hnsw = getattr(faiss.downcast_index(index), "hnsw", None)
    return {"ef_search": int(hnsw.efSearch)} if hnsw is not None else {}


def search_params(
    index: faiss.Index, removed: np.ndarray, within: np.ndarray | None = None
) -> faiss.SearchParameters | None:
    """Parameters that leave the `removed` positions (and, given `within`, every position not in it) out of every
    search, keeping the index's nprobe or efSearch."""
    if within is not None:
        mask = np.zeros(index.ntotal, dtype=bool)
        mask[within] = True
        mask[removed] = False
        bitmap = np.packbits(mask, bitorder="little")
        selector, kept = faiss.IDSelectorBitmap(int(index.ntotal), faiss.swig_ptr(bitmap)), bitmap
    elif len(removed):
        kept = faiss.IDSelectorBatch(np.ascontiguousarray(removed, dtype=np.int64))
        selector = faiss.IDSelectorNot(kept)
    else:
        return None
    ivf = faiss.try_extract_index_ivf(index)
    hnsw = getattr(faiss.downcast_index(index), "hnsw", None)
    if ivf is not None:
        params = faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)
    elif hnsw is not None:
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=hnsw.efSearch)
    else:
        params = faiss.SearchParameters(sel=selector)
    params.selector_ref = (selector, kept)  # the SWIG object does not own them
    if isinstance(faiss.downcast_index(index), faiss.IndexPreTransform):  # an OPQ rotation in front
        outer = faiss.SearchParametersPreTransform(index_params=params)
        outer.inner_ref = params
        return outer
    return params


EXACT_WINDOW = 50_000  # a window of up to this many positions is scored exactly rather than through the index


class VectorIndex:
    """A built index, memory-mapped from its folder, that answers top-k searches and vector look-ups.

    Positions listed in the folder's `removed.npy` (withdrawn or replaced papers) are never returned.
    """

    def __init__(self, folder: Path, rerank: bool = True) -> None:
        """`rerank=False` ignores the fp16 vectors (to measure what the quantised codes alone achieve)."""
        self.config = json.loads((folder / INDEX_CONFIG_FILE).read_text())
        self.index = faiss.read_index(str(folder / INDEX_FILE), faiss.IO_FLAG_MMAP_IFC)
        use_exact = rerank and self.config.get("rerank")
        self.exact = StoredVectors(folder / RERANK_FILE) if use_exact else None
        ivf = faiss.try_extract_index_ivf(self.index)
        if ivf is not None and self.exact is None:
            ivf.make_direct_map()  # so a stored paper's (approximate) vector can be looked up by position
        self.removed = load_removed(folder)
        self.params = search_params(self.index, self.removed)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def d(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, k: int, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, positions) among every position, or those `within` a window (sorted); positions index
        the papers table, -1 where fewer than k were found."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, self.ntotal)
        if within is not None and len(within) <= EXACT_WINDOW:  # a filtered graph search finds few in a small window
            return self._search_exact(queries, k, within)
        params = self.params if within is None else search_params(self.index, self.removed, within)
        if self.exact is None:
            return self.index.search(queries, k, params=params)
        _, candidates = self.index.search(queries, max(k, self.config["rerank"]), params=params)
        return _rerank(self.exact, queries, candidates, k)

    def _search_exact(self, queries: np.ndarray, k: int, within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the positions `within` (their stored vectors), removed ones left out."""
        positions = within[~np.isin(within, self.removed)]
        scores = queries @ self.vectors(positions).T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top_scores, top = np.take_along_axis(scores, order, axis=1), positions[order]
        pad = k - top.shape[1]
        return np.pad(top_scores, ((0, 0), (0, pad)), constant_values=-np.inf), np.pad(
            top, ((0, 0), (0, pad)), constant_values=-1
        )

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        """The stored float32 vectors at `positions`, in that order, read in one call (a library's liked papers,
        a method's candidates)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.exact is not None:
            return self.exact.rows(positions)
        return self.index.reconstruct_batch(positions).astype(np.float32, copy=False)

    def vector(self, position: int) -> np.ndarray:
        return self.vectors(np.array([position]))[0]


class StoredVectors:
    """Rows of the fp16 `.npy` read with pread: the page cache holds what was read, not this process's memory.

    (A memory-map would do the same reads, but every page it touches, and the pages read around it, would count
    towards the server's RSS until the whole file is resident.)
    """

    def __init__(self, path: Path) -> None:
        layout = np.load(path, mmap_mode="r")
        self.dim, self.offset, self.dtype = layout.shape[1], layout.offset, layout.dtype
        self.row_bytes = self.dim * layout.dtype.itemsize
        del layout
        self.fd = os.open(path, os.O_RDONLY)

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """float32 rows at `positions`, in that order."""
        data = b"".join(os.pread(self.fd, self.row_bytes, self.offset + int(p) * self.row_bytes) for p in positions)
        return np.frombuffer(data, dtype=self.dtype).reshape(len(positions), self.dim).astype(np.float32)


def _rerank(exact: StoredVectors, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner products of each query with its candidates' stored vectors; the best k, best first."""
    scores = np.full(candidates.shape, -np.inf, dtype=np.float32)
    for row, (query, cands) in enumerate(zip(queries, candidates, strict=True)):
        valid = cands >= 0
        scores[row, valid] = exact.rows(cands[valid]) @ query
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    positions = np.where(np.isfinite(top), np.take_along_axis(candidates, order, axis=1), -1)
    return top, positions


def merge_top_k(
    best: tuple[np.ndarray, np.ndarray], scores: np.ndarray, positions: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k highest (score, position) pairs among the best so far and a new chunk's candidates."""
    all_scores, all_positions = np.hstack([best[0], scores]), np.hstack([best[1], positions])
    order = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(all_scores, order, axis=1), np.take_along_axis(all_positions, order, axis=1)


def empty_top_k(queries: int) -> tuple[np.ndarray, np.ndarray]:
    return np.empty((queries, 0), dtype=np.float32), np.empty((queries, 0), dtype=np.int64)


def exact_search(folder: Path, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (scores, positions) of each query over the vector shards, one chunk in memory at a time."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best, offset = empty_top_k(len(queries)), 0
    for _, vectors in iter_vectors(folder):
        scores, positions = exact_index(vectors).search(queries, min(k, len(vectors)))
        best = merge_top_k(best, scores, positions + offset, k)
        offset += len(vectors)
    return best


def exact_top_k(folder: Path, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k positions of each query over the vector shards."""
    return exact_search(folder, queries, k)[1]


def exact_index(vectors: np.ndarray) -> faiss.Index:
    """The exact reference that approximate indexes are measured against."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index
