"""The served index, grown in place: the base index plus each harvested shard, added without retraining.

The base (`models/index` and the lexical postings of `models/lexical`) is rebuilt only when the encoder or the
corpus changes; its trained quantisers then take every harvested shard as it comes (IVF and IVF-PQ `add`, flat
appends). `contents.json` records what the folder holds (the base's hashes, then each shard's name and hash, in
order): a run whose base is unchanged and whose shards extend the recorded ones adds only the new shards;
anything else starts again from the base. Both give identical files, since adds are applied in the same order.

A harvested record of a paper already held (a new version) or a deletion marks the old position removed
(`removed.npy`, left out of every search); positions never move, so FAISS needs no `remove_ids`.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.harvest import SHARD_INFO, SHARD_PAPERS, SHARD_VECTORS
from arxiv_embed.data.text import build_texts
from arxiv_embed.data.vectors import load_vectors
from arxiv_embed.errors import PipelineError
from arxiv_embed.hashing import sha256
from arxiv_embed.search.index import CONTENTS_FILE, INDEX_CONFIG_FILE, INDEX_FILE, RERANK_FILE
from arxiv_embed.search.lexical import LEXICAL_FILES, Postings, append_postings, read_postings, save_postings
from arxiv_embed.search.papers import PAPERS_FILE, REMOVED_FILE, PaperEditor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shard:
    """One embedded harvest shard: its rows (deletions included) and the vectors of its papers, row for row."""

    name: str
    folder: Path

    def digest(self) -> str:
        return sha256(self.folder / SHARD_VECTORS)[:16] + sha256(self.folder / SHARD_PAPERS)[:16]

    def info(self) -> dict:
        return json.loads((self.folder / SHARD_INFO).read_text())

    def days(self) -> list[str]:
        """The first and the newest day of its records' datestamps: the days its harvest brought."""
        stamps = pd.read_parquet(self.folder / SHARD_PAPERS, columns=["datestamp"])["datestamp"].str[:10]
        return [stamps.min(), stamps.max()]


def base_digest(index_dir: Path, postings_dir: Path) -> dict[str, str]:
    """The base's files by folder and name (`index/index.faiss`, ...), each with the start of its hash."""
    files = {f"{index_dir.name}/{n}": index_dir / n for n in (INDEX_FILE, PAPERS_FILE)}
    files.update({f"{postings_dir.name}/{n}": postings_dir / n for n in LEXICAL_FILES})
    return {name: sha256(path)[:16] for name, path in files.items()}


def read_contents(folder: Path) -> dict | None:
    path = folder / CONTENTS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _applied(contents: dict | None, base: dict, shards: list[dict]) -> list[dict] | None:
    """The recorded shards when the folder can be grown from where it stands, else None (start from the base)."""
    if not contents or contents["base"] != base:
        return None
    done = contents["shards"]
    return done if shards[: len(done)] == done else None


def _write_rerank(source: Path, tmp: Path, vectors: list[np.ndarray]) -> None:
    """The source folder's fp16 re-rank vectors (if it has them) with `vectors` after them, written once into
    `tmp` (whole: the .npy header holds the row count)."""
    if not (source / RERANK_FILE).is_file():
        return
    if not vectors:
        shutil.copy(source / RERANK_FILE, tmp / RERANK_FILE)
        return
    old, new = np.load(source / RERANK_FILE, mmap_mode="r"), np.concatenate(vectors)
    out = np.lib.format.open_memmap(tmp / RERANK_FILE, "w+", np.float16, (len(old) + len(new), old.shape[1]))
    for start in range(0, len(old), 1 << 18):
        end = min(start + (1 << 18), len(old))
        out[start:end] = old[start:end]
    out[len(old) :] = new
    out.flush()
    del out, old


def _add_shard(
    index: faiss.Index, papers: PaperEditor, postings: Postings, shard: Shard, features: TfidfFeatures, field: str
) -> tuple[Postings, np.ndarray, int]:
    """Append one shard's papers to the index and the paper store and retire the positions its records replace;
    returns the grown postings, the shard's vectors and how many positions it retired."""
    rows = pd.read_parquet(shard.folder / SHARD_PAPERS)
    ids, vectors = load_vectors(shard.folder / SHARD_VECTORS)
    live = rows[~rows["deleted"]]
    if list(ids) != live["id"].tolist():
        raise PipelineError(f"{shard.folder}: vectors and papers are not row for row; re-run its stage")
    if not index.ntotal == papers.size == len(postings.row_indptr) - 1:
        raise PipelineError(
            f"the index holds {index.ntotal} vectors, the paper store {papers.size} papers and the TF-IDF rows "
            f"{len(postings.row_indptr) - 1}: re-run the lexical_index stage"
        )
    replaced = [p for p in map(papers.live_position, rows["id"]) if p is not None]
    papers.remove(replaced)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    # the day of each first version; a shard from before `created` was kept has none
    created = [c or None for c in live["created"].fillna("")] if "created" in live else [None] * len(live)
    papers.append(zip(live["id"], live["title"], live["primary_category"], live["datestamp"], created, strict=True))
    texts = build_texts(live["title"], live["abstract"], field)
    return append_postings(postings, (features.transform(t) for t in texts)), vectors, len(replaced)


def grow(
    index_dir: Path, postings_dir: Path, shards: list[Shard], features: TfidfFeatures, field: str, out: Path
) -> dict:
    """Bring `out` to the base plus `shards`, adding only what it does not hold yet; returns what was done."""
    base = base_digest(index_dir, postings_dir)
    wanted = [{"name": s.name, "digest": s.digest(), "encoder": s.info()["encoder"]} for s in shards]
    encoders = {w["encoder"] for w in wanted}
    if len(encoders) > 1:
        raise PipelineError(f"harvest shards were embedded by different encoders {sorted(encoders)}: run dvc repro")
    contents = read_contents(out)
    done = _applied(contents, base, wanted)
    with atomic_path(out, is_dir=True) as tmp:
        if done is None:
            log.info("growing from the base index (%s)", "new" if contents is None else "the base or a shard changed")
            done, source, postings = [], index_dir, read_postings(postings_dir)
        else:
            source, postings = out, read_postings(out)
        shutil.copy(source / PAPERS_FILE, tmp / PAPERS_FILE)  # appended to in place
        shutil.copy(index_dir / INDEX_CONFIG_FILE, tmp / INDEX_CONFIG_FILE)
        index = faiss.read_index(str(source / INDEX_FILE))
        papers = PaperEditor(tmp / PAPERS_FILE)
        start, new_vectors, removed = papers.size, [], 0
        for shard in tqdm(shards[len(done) :], desc="add harvest shards", unit="shard"):
            postings, vectors, retired_now = _add_shard(index, papers, postings, shard, features, field)
            new_vectors.append(vectors)
            removed += retired_now
        added = papers.size - start
        save_postings(postings, tmp)
        _write_rerank(source, tmp, new_vectors)
        retired = papers.removed_positions()
        np.save(tmp / REMOVED_FILE, retired)
        record = {
            "base": base,
            "shards": wanted,
            "encoder": next(iter(encoders), None),
            "size": papers.size,
            "removed": len(retired),
            "newest_datestamp": papers.newest_datestamp(),
            "last_harvest_days": shards[-1].days() if shards else None,  # a feed's default window
        }
        papers.close()
        faiss.write_index(index, str(tmp / INDEX_FILE))
        (tmp / CONTENTS_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return {
        **{k: v for k, v in record.items() if k not in ("base", "shards")},
        "shards": len(wanted),
        "shards_added": len(shards) - len(done),
        "papers_added": added,
        "papers_removed": removed,
    }
