"""Update benchmark: new papers into a served index, without re-embedding or retraining, and swapped in under load.

Default part, on the default run's bundle (`models/`): 1,000 real papers of the shared sample that the corpus
does not hold, plus new versions of 10 indexed papers and 10 withdrawals, go through what `make update` runs
(the shard encoded with the served graph, grown into a copy of the live index, the manifest rewritten), each step
timed. The result is compared with a live index grown from the base in one go (files identical), with a second
encoding of the shard (vectors identical) and, for a flat index, with exact numpy search (top-10 identical).
Then a server started on the old bundle answers 8 clients on `/search` while it is sent SIGHUP: errors and p99
before and during the swap.

`--scale` adds 1,000 synthetic vectors to the 2.5M-vector IVF-PQ index that `python -m benchmarks.scale` leaves
in data/bench/scale (run it first): time to grow, and recall@10 against exact search before and after.

    python -m benchmarks.update [--scale]
    python -m benchmarks.update --models <a tiny run's models> --tiny
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import time
from itertools import islice
from pathlib import Path

import faiss
import httpx
import numpy as np
import pandas as pd

from arxiv_embed.bundle import make_manifest
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.harvest import SHARD_COLUMNS, SHARD_INFO, SHARD_PAPERS, SHARD_VECTORS
from arxiv_embed.data.sources import PaperStream
from arxiv_embed.data.vectors import iter_vectors, load_vectors, save_vectors
from arxiv_embed.encode.onnx_encoder import DEFAULT_MAX_TOKENS, MODEL_FILES
from arxiv_embed.encode.shard_encoder import embed_shard
from arxiv_embed.hashing import sha256
from arxiv_embed.layout import LAYOUT, Layout, ModelFolders
from arxiv_embed.manifest import Manifest
from arxiv_embed.metrics import recall_at_k
from arxiv_embed.search.index import VectorIndex, exact_index, exact_search, merge_top_k
from arxiv_embed.search.live_index import Shard, grow
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from benchmarks.common import report
from tools.processes import start_server
from tools.sample import sample_path

DAY = "2026-12-02"
FIELD = "title_abstract"


def copy_bundle(models: ModelFolders, dest: ModelFolders) -> None:
    """The served bundle and the base it grows from, as files of their own (the run's are left untouched)."""
    for source in (
        *(models.served_onnx, models.openvino, models.classifier, models.lexical, models.recommend),
        *(models.base_index, models.served_index),
    ):
        if source.is_dir():  # a pipeline without export_openvino has no models/openvino
            shutil.copytree(source, dest.root / models.name_of(source))
    shutil.copy(models.manifest, dest.manifest)


def harvest_rows(store: PaperStore, new: int, revised: int, withdrawn: int) -> pd.DataFrame:
    """A shard as a harvest writes it: `new` sample papers the index lacks, new versions and withdrawals."""
    held = set(store.column("id"))
    fresh = islice((p for p in PaperStream(sample_path()) if p["id"] not in held), new)
    rows = [{**p, "datestamp": DAY, "created": DAY, "deleted": False} for p in fresh]
    old = store.rows(range(revised + withdrawn))
    rows += [
        {
            "id": row.id,
            "title": f"{row.title} (v2)",
            "abstract": f"Revised: {row.title}.",
            "primary_category": row.category,
            "categories": row.category,
            "datestamp": DAY,
            "created": "",  # a new version: its first version's date is not sent here, the id's month stands for it
            "deleted": False,
        }
        for row in old[:revised]
    ]
    rows += [
        {**dict.fromkeys(SHARD_COLUMNS, ""), "id": row.id, "datestamp": DAY, "deleted": True} for row in old[revised:]
    ]
    return pd.DataFrame(rows, columns=SHARD_COLUMNS)


def base_unchanged(base: Path, live: Path) -> bool | None:
    """Whether the grown flat index holds the base's vectors, bit for bit, in front of the new ones."""
    old, grown = (faiss.read_index(str(folder / "index.faiss")) for folder in (base, live))
    if not isinstance(old, faiss.IndexFlat):
        return None
    return bool(np.array_equal(old.reconstruct_n(0, old.ntotal), grown.reconstruct_n(0, old.ntotal)))


def exact_live_top_k(folder: Path, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k over a flat live index's vectors by numpy, its removed positions left out."""
    index = faiss.read_index(str(folder / "index.faiss"))
    vectors = index.reconstruct_n(0, index.ntotal)
    scores = queries @ vectors.T
    scores[:, np.load(folder / "removed.npy")] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


async def swap_under_load(url: str, texts: list[str], pid: int, steady_s: float, clients: int = 8) -> dict:
    """Latencies of `clients` searching without pause: `steady_s` on the old bundle, then through a SIGHUP swap."""
    records: list[tuple[float, float, bool]] = []
    stop = asyncio.Event()

    async def client(http: httpx.AsyncClient, i: int) -> None:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                ok = (
                    await http.post(f"{url}/search", json={"text": texts[i % len(texts)], "k": 10})
                ).status_code == 200
            except httpx.HTTPError:
                ok = False
            records.append((start, time.perf_counter() - start, ok))
            i += clients

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients + 1)) as http:
        old = (await http.get(f"{url}/ready")).json()["bundle_version"]
        tasks = [asyncio.create_task(client(http, i)) for i in range(clients)]
        await asyncio.sleep(steady_s)
        signalled = time.perf_counter()
        os.kill(pid, signal.SIGHUP)
        while (await http.get(f"{url}/ready")).json()["bundle_version"] == old:
            await asyncio.sleep(0.05)
        swapped = time.perf_counter()
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*tasks)

    def summary(rows: list[tuple[float, float, bool]]) -> dict:
        ms = np.array([r[1] for r in rows]) * 1000
        return {
            "requests": len(rows),
            "errors": sum(not r[2] for r in rows),
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
        }

    steady = summary([r for r in records if r[0] < signalled])
    during = summary([r for r in records if signalled <= r[0] <= swapped + 1])
    return {
        "clients": clients,
        "steady": steady,
        "during_swap": during,
        "seconds_to_swap": round(swapped - signalled, 2),
        "errors": sum(not r[2] for r in records),
        "p99_ratio": round(during["p99_ms"] / steady["p99_ms"], 2),
    }


def default_part(models: ModelFolders, work: Path, new: int, steady_s: float) -> dict:
    live_models = ModelFolders(work / "models")
    copy_bundle(models, live_models)
    variant = Manifest.read(models.manifest).onnx_variant
    store = PaperStore(live_models.served_index / PAPERS_FILE)
    rows = harvest_rows(store, new, revised=10, withdrawn=10)
    before = {"index_size": store.size, "corpus_size": store.live}
    proc, url = start_server(["-m", "serve"], live_models.root, {})  # on the old bundle
    try:
        features = TfidfFeatures.load(live_models.classifier)
        graphs, shard_dir = live_models.served_onnx, work / "updates" / "0001"
        start = time.perf_counter()
        info = embed_shard(rows, graphs, variant, FIELD, DEFAULT_MAX_TOKENS, shard_dir)
        embedded = time.perf_counter()
        shard = Shard("0001", shard_dir)
        grown = grow(live_models.base_index, live_models.lexical, [shard], features, FIELD, live_models.served_index)
        added = time.perf_counter()
        make_manifest(live_models, variant).write(live_models.manifest)
        done = time.perf_counter()
        texts = rows.loc[~rows["deleted"], "abstract"].tolist()
        swap = asyncio.run(swap_under_load(url, texts, proc.pid, steady_s))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    scratch = work / "scratch"
    grow(live_models.base_index, live_models.lexical, [shard], features, FIELD, scratch)
    same_files = all((scratch / f.name).read_bytes() == f.read_bytes() for f in live_models.served_index.iterdir())
    again = embed_shard(rows, graphs, variant, FIELD, DEFAULT_MAX_TOKENS, work / "updates" / "again")
    _, vectors = load_vectors(shard_dir / SHARD_VECTORS)
    same_vectors = bool(np.array_equal(vectors, load_vectors(work / "updates" / "again" / SHARD_VECTORS)[1]))
    queries = vectors[: min(200, len(vectors))]
    served = VectorIndex(live_models.served_index).search(queries, 10)[1]
    top10 = {"queries": len(queries), "identical_share": None}
    if grown["size"] and Manifest.read(live_models.manifest).index_type == "flat":
        exact = exact_live_top_k(live_models.served_index, queries, 10)
        top10["identical_share"] = round(
            float(np.mean([set(a) == set(b) for a, b in zip(served, exact, strict=True)])), 4
        )
    return {
        "papers": info["papers"],
        "new_papers": new,
        "new_versions": 10,
        "withdrawn": 10,
        "before": before,
        "after": {"index_size": grown["size"], "corpus_size": grown["size"] - grown["removed"]},
        "papers_encoded": info["papers"],
        "old_papers_reembedded": info["papers"] - new - 10,  # the encoder saw the shard (new papers and versions) only
        "base_vectors_identical": base_unchanged(live_models.base_index, live_models.served_index),
        "seconds": {
            "embed": round(embedded - start, 2),
            "grow": round(added - embedded, 2),
            "manifest": round(done - added, 2),
            "update": round(done - start, 2),
        },
        "papers_per_second": round(info["papers"] / (embedded - start), 1),
        "incremental_equals_from_scratch": {
            "files": same_files,
            "vectors": same_vectors and again == info,
            "flat_top10": top10,
        },
        "swap": swap,
    }


def scale_part(scale: Path, pipeline: Path, new: int, queries: int) -> dict:
    models, vectors_dir = ModelFolders(scale / "models"), scale / "vectors"
    if not models.served_index.is_dir():
        raise SystemExit(f"error: {models.served_index} not found: run `python -m benchmarks.scale` first")
    rng = np.random.default_rng(7)
    real = np.concatenate([v for _, v in islice(iter_vectors(Layout(pipeline).adapted_corpus), 1)])
    picks = rng.choice(len(real), size=new + queries, replace=len(real) < new + queries)
    noisy = real[picks[:new]] + rng.normal(scale=0.05, size=(new, real.shape[1])).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    probe = real[picks[new:]]
    shard_dir = scale / "updates" / "0001"
    shutil.rmtree(scale / "updates", ignore_errors=True)
    shard_dir.mkdir(parents=True)
    ids = [f"n{i:07d}" for i in range(new)]
    rows = pd.DataFrame(
        {
            "id": ids,
            "title": "synthetic",
            "abstract": "",
            "primary_category": "cs.LG",
            "categories": "cs.LG",
            "datestamp": DAY,
            "created": DAY,
            "deleted": False,
        }
    )[SHARD_COLUMNS]
    rows.to_parquet(shard_dir / SHARD_PAPERS, index=False)
    save_vectors(shard_dir / SHARD_VECTORS, ids, noisy)
    encoder = sha256(models.served_onnx / MODEL_FILES["int8"])
    (shard_dir / SHARD_INFO).write_text(json.dumps({"encoder": encoder}))

    exact_base = exact_search(vectors_dir, probe, 10)
    base_size = VectorIndex(models.served_index).ntotal
    recall_before = recall_at_k(VectorIndex(models.served_index).search(probe, 10)[1], exact_base[1], 10)
    features = TfidfFeatures.load(models.classifier)
    start = time.perf_counter()
    grown = grow(models.base_index, models.lexical, [Shard("0001", shard_dir)], features, FIELD, models.served_index)
    seconds = time.perf_counter() - start
    added_scores, added_positions = exact_index(noisy).search(probe, 10)
    truth = merge_top_k(exact_base, added_scores, added_positions + base_size, 10)[1]
    recall_after = recall_at_k(VectorIndex(models.served_index).search(probe, 10)[1], truth, 10)
    grow(models.base_index, models.lexical, [], features, FIELD, models.served_index)  # back as it was
    return {
        "index_size": base_size,
        "added": new,
        "grow_seconds": round(seconds, 2),
        "size_after": grown["size"],
        "recall_before": round(recall_before, 4),
        "recall_after": round(recall_after, 4),
        "recall_change": round(recall_after - recall_before, 4),
        "queries": queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--pipeline", type=Path, default=Path("."), help="the run whose vectors --scale borrows")
    parser.add_argument("--work", type=Path, default=LAYOUT.bench_work("update"))
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--steady-seconds", type=float, default=15)
    parser.add_argument("--scale", action="store_true", help="also grow the 2.5M-vector index of benchmarks.scale")
    parser.add_argument("--scale-work", type=Path, default=LAYOUT.bench_work("scale"))
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    if opts.tiny:
        opts.new, opts.steady_seconds = 20, 2
    shutil.rmtree(opts.work, ignore_errors=True)
    opts.work.mkdir(parents=True)
    result = {
        "benchmark": "update",
        "default": default_part(ModelFolders(opts.models), opts.work, opts.new, opts.steady_seconds),
    }
    if opts.scale:
        result["scale"] = scale_part(opts.scale_work, opts.pipeline, opts.new, 200)
    d = result["default"]
    result["goals"] = {
        "update_seconds": {"goal": 30, "found": d["seconds"]["update"], "met": d["seconds"]["update"] <= 30},
        "old_papers_reembedded": {
            "goal": 0,
            "found": d["old_papers_reembedded"],
            "met": d["old_papers_reembedded"] == 0,
        },
        "swap_errors": {"goal": 0, "found": d["swap"]["errors"], "met": d["swap"]["errors"] == 0},
        "swap_p99_ratio": {"goal": 2.0, "found": d["swap"]["p99_ratio"], "met": d["swap"]["p99_ratio"] <= 2.0},
    }
    if opts.scale:
        s = result["scale"]
        result["goals"]["scale_grow_seconds"] = {"goal": 60, "found": s["grow_seconds"], "met": s["grow_seconds"] <= 60}
        result["goals"]["scale_recall_change"] = {
            "goal": 0.005,
            "found": s["recall_change"],
            "met": abs(s["recall_change"]) <= 0.005,
        }
    report("update", result, opts.out)


if __name__ == "__main__":
    main()
