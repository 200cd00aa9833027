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
from arxiv_embed.encode.vectors import load_vectors
from arxiv_embed.errors import PipelineError
from arxiv_embed.hashing import sha256
from arxiv_embed.search.index import CONTENTS_FILE, INDEX_CONFIG_FILE, INDEX_FILE, RERANK_FILE
from arxiv_embed.search.lexical import LEXICAL_FILES, append_postings, read_postings
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


def base_digest(index_dir: Path, postings_dir: Path) -> dict[str, str]:
    files = {f"index/{n}": index_dir / n for n in (INDEX_FILE, PAPERS_FILE)}
    files.update({f"lexical/{n}": postings_dir / n for n in LEXICAL_FILES})
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


def _copy_base(index_dir: Path, postings_dir: Path, tmp: Path) -> None:
    for name in (INDEX_FILE, PAPERS_FILE):
        shutil.copy(index_dir / name, tmp / name)
    if (index_dir / RERANK_FILE).is_file():
        shutil.copy(index_dir / RERANK_FILE, tmp / RERANK_FILE)
    for name in LEXICAL_FILES:
        shutil.copy(postings_dir / name, tmp / name)


def _copy_live(folder: Path, tmp: Path) -> None:
    for name in (INDEX_FILE, PAPERS_FILE, RERANK_FILE, *LEXICAL_FILES):
        if (folder / name).is_file():
            shutil.copy(folder / name, tmp / name)


def _append_rerank(tmp: Path, vectors: np.ndarray) -> None:
    """The fp16 re-rank vectors grown by `vectors` (written whole: its .npy header holds the row count)."""
    old = np.load(tmp / RERANK_FILE, mmap_mode="r")
    grown = tmp / f"grown-{RERANK_FILE}"
    out = np.lib.format.open_memmap(grown, "w+", np.float16, (len(old) + len(vectors), old.shape[1]))
    for start in range(0, len(old), 1 << 18):
        end = min(start + (1 << 18), len(old))
        out[start:end] = old[start:end]
    out[len(old) :] = vectors
    out.flush()
    del out, old
    grown.replace(tmp / RERANK_FILE)


def _add_shard(
    tmp: Path, index: faiss.Index, papers: PaperEditor, shard: Shard, features: TfidfFeatures, field: str
) -> tuple[int, int]:
    """Append one shard's papers to the index, the paper store, the postings (and the re-rank vectors), and
    retire the positions its records replace; returns (papers added, positions removed)."""
    rows = pd.read_parquet(shard.folder / SHARD_PAPERS)
    ids, vectors = load_vectors(shard.folder / SHARD_VECTORS)
    live = rows[~rows["deleted"]]
    if list(ids) != live["id"].tolist():
        raise PipelineError(f"{shard.folder}: vectors and papers are not row for row; re-run its stage")
    if index.ntotal != papers.size:
        raise PipelineError(f"{tmp}: the index holds {index.ntotal} vectors but {papers.size} papers")
    replaced = [p for p in map(papers.live_position, rows["id"]) if p is not None]
    papers.remove(replaced)
    first = papers.size
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    if (tmp / RERANK_FILE).is_file():
        _append_rerank(tmp, vectors)
    papers.append(zip(live["id"], live["title"], live["primary_category"], live["datestamp"], strict=True))
    texts = build_texts(live["title"], live["abstract"], field)
    append_postings(read_postings(tmp), (features.transform(t) for t in texts), first, tmp)
    return len(live), len(replaced)


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
            _copy_base(index_dir, postings_dir, tmp)
            done = []
        else:
            _copy_live(out, tmp)
        shutil.copy(index_dir / INDEX_CONFIG_FILE, tmp / INDEX_CONFIG_FILE)
        index = faiss.read_index(str(tmp / INDEX_FILE))
        papers = PaperEditor(tmp / PAPERS_FILE)
        added = removed = 0
        for shard in tqdm(shards[len(done) :], desc="add harvest shards", unit="shard"):
            papers_added, positions_removed = _add_shard(tmp, index, papers, shard, features, field)
            added, removed = added + papers_added, removed + positions_removed
        retired = papers.removed_positions()
        np.save(tmp / REMOVED_FILE, retired)
        record = {
            "base": base,
            "shards": wanted,
            "encoder": next(iter(encoders), None),
            "size": papers.size,
            "removed": len(retired),
            "newest_datestamp": papers.newest_datestamp(),
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
