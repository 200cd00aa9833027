"""Ask a running server one real question per endpoint and keep each request with the answer it gave, for the
Serving page (`metrics/api_examples.json`; `make docs` renders it).

    python -m tools.api_examples                  # serves models/bundle on a free loopback port, then asks
    python -m tools.api_examples --models DIR

The questions come from the bundle's own test papers' neighbours: a real title and abstract, a real id. Long
answers are cut for the page (vectors to their first numbers, with the length kept), never changed otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from arxiv_embed.atomic import write_json
from arxiv_embed.layout import LAYOUT
from tools.processes import free_port
from tools.quickstart import start_server, stop

SHOWN_NUMBERS = 4  # of a vector, on the page
TEXT = "Quantum error correction with surface codes under biased noise"


def cut(value: Any) -> Any:
    """A vector becomes its first numbers and a count; everything else is kept, recursively."""
    if isinstance(value, list) and len(value) > SHOWN_NUMBERS and all(isinstance(v, float) for v in value):
        return [*(round(v, 4) for v in value[:SHOWN_NUMBERS]), f"... {len(value)} numbers"]
    if isinstance(value, list):
        return [cut(v) for v in value]
    if isinstance(value, dict):
        return {k: cut(v) for k, v in value.items()}
    return value


def ask(client: httpx.Client, method: str, path: str, body: dict | None = None, secret: str | None = None) -> dict:
    """One request and its answer; URLs the server names are given as the page's curl asks them
    (localhost:8000)."""
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    answer = client.request(method, path, json=body, headers=headers)
    here = answer.text.replace(str(client.base_url).rstrip("/"), "http://localhost:8000")
    shown = cut(json.loads(here)) if "json" in answer.headers["content-type"] else feed_head(here)
    asked = {"method": method, "path": path, "body": body, "status": answer.status_code, "answer": shown}
    return asked | ({"secret": secret} if secret else {})


def feed_head(xml: str, entries: int = 1) -> str:
    """An Atom feed up to the end of its first `entries` entries (the rest are alike), then its closing tag."""
    parts = xml.split("</entry>")
    return "</entry>".join(parts[:entries]) + "</entry>\n  ...\n</feed>\n" if len(parts) > entries + 1 else xml


def bibtex_of(paper: dict) -> str:
    """A reader's BibTeX library: one entry by its arXiv id, one by its title only, one that cannot be used."""
    return (
        f"@article{{kept, title={{{paper['title']}}}, eprint={{{paper['id']}}}, archivePrefix={{arXiv}}}}\n"
        f"@inproceedings{{notes, title={{{TEXT}}}}}\n"
        "@misc{todo, author={A. Reader}}"
    )


def examples(url: str) -> dict[str, dict]:
    with httpx.Client(base_url=url, timeout=60) as client:
        found = ask(client, "POST", "/search", {"text": TEXT, "k": 3})
        paper = client.get(f"/papers/{found['answer']['results'][0]['id']}").json()
        liked = [hit["id"] for hit in found["answer"]["results"][:2]]
        shown = {
            "search": found,
            "search_by_id": ask(client, "POST", "/search", {"id": paper["id"], "k": 3}),
            "search_lexical": ask(client, "POST", "/search", {"text": TEXT, "k": 3, "mode": "lexical"}),
            "classify": ask(client, "POST", "/classify", {"title": paper["title"], "k": 3}),
            "paper": ask(client, "GET", f"/papers/{paper['id']}"),
            "embed": ask(client, "POST", "/embed", {"texts": [TEXT]}),
            "openai": ask(client, "POST", "/v1/embeddings", {"input": TEXT, "model": "arxiv-embed"}),
            "ready": ask(client, "GET", "/ready"),
            "bad_k": ask(client, "POST", "/search", {"text": TEXT, "k": 0}),
            "unknown_id": ask(client, "GET", "/papers/0000.00000"),
            "recommend": ask(client, "POST", "/recommend", {"like": liked, "k": 3}),
            "recommend_bibtex": ask(client, "POST", "/recommend", {"bibtex": bibtex_of(paper), "k": 3}),
            "feed": ask(client, "GET", "/feed.atom?" + "&".join(f"like={i}" for i in liked) + "&k=3"),
            "recommend_unknown": ask(client, "POST", "/recommend", {"like": ["0000.00000"]}),
        }
        newest = max(r["date"] for r in shown["recommend"]["answer"]["results"])  # a month the corpus holds
        shown["recommend_since"] = ask(
            client, "POST", "/recommend", {"like": liked, "since": f"{newest[:7]}-01", "k": 3}
        )
        more = [hit["id"] for hit in shown["search_by_id"]["answer"]["results"]]
        shown |= saved_library(client, bibtex_of(paper), [paper["id"], *liked, *more])
    return shown


def saved_library(client: httpx.Client, bibtex: str, papers: list[str]) -> dict[str, dict]:
    """A BibTeX library saved, its private feed polled, a paper that it does not hold pinned into it."""
    saved = ask(client, "POST", "/libraries", {"bibtex": bibtex, "k": 3})
    library, feed = saved["answer"]["id"], httpx.URL(saved["answer"]["feed_url"]).path
    pin = next(paper for paper in papers if paper not in bibtex)
    return {
        "library_save": saved,
        "library_feed": ask(client, "GET", feed),
        "library_pin": ask(
            client, "PATCH", f"/libraries/{library}", {"add_like": [pin]}, saved["answer"]["owner_secret"]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.bundle)
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics / "api_examples.json")
    opts = parser.parse_args()
    os.environ["ARXIV_EMBED_MODELS_DIR"] = str(opts.models)
    port = free_port()
    with tempfile.TemporaryDirectory() as data:  # the saved library of the examples, gone with the server
        os.environ["ARXIV_EMBED_DATA_DIR"] = data
        server = start_server(port)
        try:
            shown = examples(f"http://127.0.0.1:{port}")
        finally:
            stop(server)
    write_json(opts.out, shown)
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
