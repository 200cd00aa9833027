"""`make update` end to end: a harvest from a local OAI-PMH server (pages, a 503, a deletion, a new version),
`dvc repro` of only what is new, and a running server that swaps the grown bundle in on SIGHUP while it answers
a steady load without failing a request."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path

import feedparser
import httpx
import pytest

from arxiv_embed.data.text import build_text
from serve.metrics import RELOADS
from tests.conftest import SET_UP, TINY_CATEGORIES, read_slice, run, set_params
from tests.helpers import metric, wait_until
from tests.test_pipeline import stages_run
from tools.oai_server import OaiServer, Served, served_papers
from tools.processes import start_server

pytestmark = pytest.mark.e2e
DAY = "2026-12-02"


class Load:
    """Four clients searching until stopped, each a twentieth of a second after its last answer: requests are in
    flight whenever the bundle swaps, yet the update being tested keeps most of the two cores; every status code is
    kept."""

    CLIENTS, PAUSE_S = 4, 0.05

    def __init__(self, url: str, texts: list[str]) -> None:
        self.url, self.texts, self.codes = url, texts, []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,)) for i in range(self.CLIENTS)]

    def client(self, i: int) -> None:
        with httpx.Client(timeout=60) as http:
            while not self.stop.wait(self.PAUSE_S):
                text = self.texts[(i + len(self.codes)) % len(self.texts)]
                try:
                    self.codes.append(http.post(f"{self.url}/search", json={"text": text, "k": 5}).status_code)
                except httpx.HTTPError as err:
                    self.codes.append(type(err).__name__)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def ready(url: str) -> dict:
    return httpx.get(f"{url}/ready", timeout=10).json()


def wait_for_version(url: str, old: str, timeout: float = 120) -> dict:
    return wait_until(lambda: (now := ready(url))["bundle_version"] != old and now, timeout, "the new bundle")


@pytest.fixture(scope="module")
def repo(pipeline_repo: Path, tmp_path_factory) -> Path:
    """A copy of the tiny run, brought up to date, so that this module's harvests touch no other test's repo."""
    copy = tmp_path_factory.mktemp("update") / "repo"
    shutil.copytree(pipeline_repo, copy, symlinks=True)
    run(["dvc", "repro"], copy, timeout=900)
    commit(copy, "before the first harvest")
    return copy


def commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message, "--allow-empty"], repo)


def test_make_update_harvests_embeds_only_the_new_and_swaps_under_load(repo: Path, sample: Path) -> None:
    corpus = {row["id"]: row for row in read_slice(sample, TINY_CATEGORIES, 24)}
    new = [p for p in read_slice(sample, TINY_CATEGORIES, 30) if p["id"] not in corpus]
    indexed = list(corpus.values())
    revised, withdrawn = indexed[0], indexed[1]
    records = served_papers(new, DAY) + [
        Served(revised["id"], DAY, "A revised title for an indexed paper", revised["abstract"], revised["categories"]),
        Served(withdrawn["id"], DAY, deleted=True),
    ]
    models = repo / "models/bundle"  # what the server serves: `make update` replaces it whole
    proc, url = start_server(["-m", "serve"], models, {"ARXIV_EMBED_PID_FILE": str(repo / ".serve.pid")})
    try:
        before = ready(url)
        assert before["harvest_shards"] == 0 and before["newest_paper_date"] is None
        with OaiServer(records, page_size=10, unavailable=1, retry_after=1) as oai:
            set_params(repo, {"harvest": {"url": oai.url, "start": "2026-12-01", "delay_seconds": 0.2}})
            with Load(url, [p["abstract"] for p in indexed[2:40]]) as load:
                out = run(["make", "update", SET_UP], repo, timeout=900)  # signals the server of .serve.pid
                after = wait_for_version(url, before["bundle_version"])
                answered = len(load.codes)  # and some more requests on the new bundle
                wait_until(lambda: len(load.codes) >= answered + 10, 60, "requests on the new bundle")
        assert f"told the server (pid {proc.pid}) to swap in the new bundle" in out.stdout
        assert sum("resumptionToken" in q for q in oai.requests) == 3  # 32 records in pages of 10
        shard = f"0001-{DAY}"
        assert stages_run(out.stdout) == {
            f"embed_harvest@{shard}",
            "live_index",
            "drift",
            "manifest",
            "evaluate",
            "bundle",
        }
        assert len(load.codes) > 50 and set(load.codes) == {200}, {c: load.codes.count(c) for c in set(load.codes)}

        assert after["harvest_shards"] == 1 and after["newest_paper_date"] == DAY and after["feed_since"] == DAY
        feed = httpx.get(f"{url}/feed.atom?like={indexed[2]['id']}&k=40", timeout=30)  # the last harvest's days
        fed = {e.link.rsplit("/", 1)[1] for e in feedparser.parse(feed.content).entries}
        assert fed and fed <= {p["id"] for p in new}  # the revised paper was harvested that day, but is not new
        assert after["index_size"] == before["index_size"] + len(new) + 1
        assert after["corpus_size"] == before["corpus_size"] + len(new) - 1
        embedded = json.loads((repo / "metrics" / "embed_harvest" / f"{shard}.json").read_text())
        assert embedded["papers"] == len(new) + 1 and embedded["deleted"] == 1  # nothing old re-embedded
        for paper in new:  # found for their own text (title and abstract, what the served model reads)
            text = build_text(paper["title"], paper["abstract"], "title_abstract")
            hits = httpx.post(f"{url}/search", json={"text": text, "k": 3}, timeout=30).json()
            assert hits["results"][0]["id"] == paper["id"]
        assert httpx.get(f"{url}/papers/{withdrawn['id']}", timeout=10).status_code == 404
        hits = httpx.post(f"{url}/search", json={"text": withdrawn["abstract"], "k": 10}, timeout=30).json()
        assert withdrawn["id"] not in [h["id"] for h in hits["results"]]
        by_id = httpx.get(f"{url}/papers/{revised['id']}", timeout=10).json()
        assert by_id["title"] == "A revised title for an indexed paper"
        drift = json.loads((repo / "metrics" / "drift.json").read_text())
        assert drift["shards"] == 1 and drift["latest"]["papers"] == len(new) + 1

        # A bundle that fails verification is refused; the old one keeps serving.
        manifest = models / "manifest.json"
        good = manifest.read_text()
        manifest.write_text("{}")
        os.kill(proc.pid, signal.SIGHUP)
        refused = f'{RELOADS}{{outcome="refused"}}'
        wait_until(lambda: metric(url, RELOADS, outcome="refused") >= 1, 60, refused)
        assert ready(url)["bundle_version"] == after["bundle_version"]
        manifest.write_text(good)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "reload refused, still serving bundle" in proc.stderr.read().decode()

    # Nothing new upstream: the next update lists the last day again, passes over what it holds, recomputes nothing.
    with OaiServer(records) as oai:
        set_params(repo, {"harvest": {"url": oai.url}})
        again = run(["make", "update", SET_UP], repo, timeout=600)
    assert stages_run(again.stdout) == set()
    harvest = json.loads((repo / "metrics" / "harvest.json").read_text())
    assert harvest["from"] == DAY and harvest["already_harvested"] == len(records) and harvest["shard"] is None


def test_incremental_equals_from_scratch(repo: Path) -> None:
    live = repo / "models" / "live_index"
    grown = {f.name: f.read_bytes() for f in live.iterdir()}
    shutil.rmtree(live)
    out = run(["dvc", "repro", "live_index"], repo, timeout=600)
    assert "growing from the base index" in out.stderr
    assert {f.name: f.read_bytes() for f in live.iterdir()} == grown
    assert json.loads((repo / "metrics" / "live_index.json").read_text())["shards_added"] == 1


def test_each_commit_checks_out_its_own_index(repo: Path) -> None:
    """A day's commit restores that day's live index (`dvc checkout` from the cache; `dvc pull` from a remote)."""
    commit(repo, "after the first harvest")
    contents = repo / "models" / "live_index" / "contents.json"
    assert len(json.loads(contents.read_text())["shards"]) == 1
    branch = run(["git", "branch", "--show-current"], repo).stdout.strip()
    for rev, shards in (("HEAD~1", 0), (branch, 1)):
        run(["git", "checkout", "-q", rev], repo)
        run(["dvc", "checkout", "-q"], repo)
        assert len(json.loads(contents.read_text())["shards"]) == shards, rev
        assert "up to date" in run(["dvc", "status"], repo).stdout, rev
