"""A reader's whole reference-manager export sent to /recommend: seconds per answer at one client.

The library is a BibTeX file as Zotero exports it (title, authors, abstract, DOI, URL and, for arXiv papers,
`eprint`): `--entries` (5,000) papers of the shared sample, a `--in-index` share of them papers of the served index
(matched by id) and the rest papers the index does not hold (read as text, of which the server encodes a seeded
sample of ARXIV_EMBED_MAX_LIBRARY_TEXTS). Each request sends the whole file; the clock runs from the request to the
answer.

    python -m benchmarks.library_file                 # models/bundle of `dvc repro`
    python -m benchmarks.library_file --tiny          # a small library and two requests, to check it still runs
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx
import numpy as np

from arxiv_embed.layout import LAYOUT, ModelFolders
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from benchmarks.common import report
from benchmarks.http_load import drive
from tools.processes import start_server
from tools.sample import real_papers

GOAL_SECONDS = 2.0  # a 5,000-entry library answered at one client


def bibtex_entry(key: str, paper: dict) -> str:
    """One entry as Zotero's BibTeX export writes an arXiv preprint."""
    abstract = paper["abstract"].replace("{", "(").replace("}", ")")
    title = paper["title"].replace("{", "(").replace("}", ")")
    return (
        f"@misc{{{key},\n\ttitle = {{{title}}},\n\tauthor = {{Reader, A. and Writer, B.}},\n"
        f"\turl = {{http://arxiv.org/abs/{paper['id']}}},\n\tdoi = {{10.48550/arXiv.{paper['id']}}},\n"
        f"\tabstract = {{{abstract}}},\n\tpublisher = {{arXiv}},\n\tyear = {{2024}},\n"
        f"\tnote = {{arXiv:{paper['id']} [cs]}},\n}}\n"
    )


def library(models: Path, entries: int, in_index: float) -> tuple[str, int]:
    """The BibTeX text and how many of its entries the index holds."""
    store = PaperStore(ModelFolders(models).served_index / PAPERS_FILE)
    indexed = set(store.column("id"))
    sample = real_papers(entries * 3, seed=2)
    held = [p for p in sample if p["id"] in indexed][: int(entries * in_index)]
    other = [p for p in sample if p["id"] not in indexed][: entries - len(held)]
    papers = [*held, *other]
    np.random.default_rng(0).shuffle(papers)
    return "".join(bibtex_entry(f"key{i}", p) for i, p in enumerate(papers)), len(held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.bundle)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--in-index", type=float, default=0.2, help="share of the entries the index holds")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    entries, requests = (50, 2) if opts.tiny else (opts.entries, opts.requests)
    bibtex, held = library(opts.models, entries, opts.in_index)
    proc, url = start_server(["-m", "serve"], opts.models, {})
    try:
        answer = httpx.post(f"{url}/recommend", json={"bibtex": bibtex, "k": 10}, timeout=120).json()

        async def send(http: httpx.AsyncClient, i: int) -> bool:
            return (await http.post(f"{url}/recommend", json={"bibtex": bibtex, "k": 10})).status_code == 200

        measured = asyncio.run(drive(send, 1, requests, 600))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    seconds = measured["p50_ms"] / 1000
    report(
        "library_file",
        {
            "benchmark": "a Zotero-style BibTeX library posted whole to /recommend, at one client",
            "entries": entries,
            "entries_in_index": held,
            "file_mb": round(len(bibtex.encode()) / 2**20, 2),
            "library": answer["library"],
            "requests": measured["requests"],
            "errors": measured["errors"],
            "p50_seconds": seconds,
            "p99_seconds": measured["p99_ms"] / 1000,
            "goal": {"p50_seconds_at_5000_entries": GOAL_SECONDS},
            "goal_met": entries >= 5000 and seconds <= GOAL_SECONDS,
        },
        opts.out,
    )


if __name__ == "__main__":
    main()
