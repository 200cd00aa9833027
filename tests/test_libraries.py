"""Saved libraries and their private feeds on the tiny pipeline's bundle, through real server processes: a feed
reader polling with the API key set, the owner secret, rotation and deletion, concurrent edits, a SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import feedparser
import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serve.app import create_app
from serve.settings import Settings
from tools.processes import free_port, start_server, wait_for_http

pytestmark = pytest.mark.e2e
KEY = "the-api-key"
WRITERS = 8
ENTRIES = 5000  # a working researcher's Zotero library


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def client(pipeline_repo: Path, tmp_path_factory):
    data = tmp_path_factory.mktemp("libraries")
    cfg = Settings(models_dir=str(pipeline_repo / "models/bundle"), data_dir=str(data), api_key=KEY, max_library=5)
    with TestClient(create_app(cfg=cfg)) as c:
        yield c


@pytest.fixture(scope="module")
def ids(test_papers: pd.DataFrame) -> list[str]:
    return test_papers["id"].tolist()


def save(client: TestClient, body: dict) -> dict:
    answer = client.post("/libraries", json=body, headers=bearer(KEY))
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"].endswith(f"/libraries/{answer.json()['id']}")
    return answer.json()


def zotero_export(ids: list[str], entries: int) -> str:
    """A BibTeX library of `entries` entries as Zotero writes them: the index's papers by their arXiv id, the rest
    (books, talks) by title and abstract only."""
    by_id = [
        f"@article{{paper{i}, title={{A paper}}, eprint={{{paper}}}, archivePrefix={{arXiv}}}}"
        for i, paper in enumerate(ids)
    ]
    by_text = [
        f"@book{{book{i}, title={{Lectures on topic {i}}}, abstract={{Notes on spectral graph theory, part {i}.}}}}"
        for i in range(entries - len(ids))
    ]
    return "\n".join(by_id + by_text)


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


def token_of(feed_url: str) -> str:
    return path_of(feed_url).removeprefix("/feeds/").removesuffix(".atom")


def test_a_feed_reader_polls_the_private_feed_without_headers_while_a_key_guards_the_rest(
    pipeline_repo: Path, tmp_path: Path, ids: list[str]
) -> None:
    env = {"ARXIV_EMBED_API_KEY": KEY, "ARXIV_EMBED_DATA_DIR": str(tmp_path)}
    proc, url = start_server(["-m", "serve"], pipeline_repo / "models/bundle", env)
    try:
        assert httpx.post(f"{url}/libraries", json={"like": ids[:2]}).status_code == 401
        made = httpx.post(f"{url}/libraries", json={"like": [*ids[:2], "0000.00000"], "k": 4}, headers=bearer(KEY))
        feed_url = made.json()["feed_url"]
        assert made.status_code == 201 and made.json()["skipped"] == ["0000.00000"]
        first = feedparser.parse(feed_url)  # feedparser's own HTTP client: no Authorization header
        assert first.status == 200 and len(first.entries) == 4 and first.etag
        assert "0000.00000" in first.feed.subtitle
        assert not {e.link.rsplit("/", 1)[1] for e in first.entries} & set(ids[:2])
        assert feedparser.parse(feed_url, etag=first.etag).status == 304
        assert httpx.get(feed_url.replace(".atom", "x.atom")).status_code == 404
        export = zotero_export(ids, ENTRIES)  # a whole library as Zotero exports it, saved and polled alike
        whole = httpx.post(f"{url}/libraries", json={"bibtex": export}, headers=bearer(KEY), timeout=60).json()
        assert whole["counts"]["file_entries"] == ENTRIES and whole["counts"]["file_entries_by_id"] == len(ids)
        polled = feedparser.parse(whole["feed_url"])
        assert (
            polled.status == 200
            and polled.entries
            and feedparser.parse(whole["feed_url"], etag=polled.etag).status == 304
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_owner_secret_or_the_key_opens_a_library_and_nothing_else(client: TestClient, ids: list[str]) -> None:
    mine, theirs = save(client, {"like": ids[:2]}), save(client, {"like": ids[2:4]})
    path = f"/libraries/{mine['id']}"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(theirs["owner_secret"])).status_code == 401
    assert client.get(path, headers=bearer(token_of(mine["feed_url"]))).status_code == 401  # the feed's token
    read = client.get(path, headers=bearer(mine["owner_secret"]))
    assert read.status_code == 200 and read.json()["library"]["like"] == ids[:2] and read.headers["etag"] == '"1"'
    assert "owner_secret" not in read.json()  # answered once, at creation
    assert client.get(path, headers=bearer(KEY)).json()["counts"]["liked_ids"] == 2
    assert client.get("/libraries/nobody", headers=bearer(mine["owner_secret"])).status_code == 401
    assert client.get("/libraries/nobody", headers=bearer(KEY)).status_code == 404


def test_edits_replacements_and_their_refusals(client: TestClient, ids: list[str]) -> None:
    made = save(client, {"like": ids[:2]})
    path, owner = f"/libraries/{made['id']}", bearer(made["owner_secret"])
    edited = client.patch(
        path, json={"add_like": [ids[5]], "remove_like": [ids[0]], "add_exclude": [ids[6]]}, headers=owner
    )
    assert edited.json()["library"]["like"] == [ids[1], ids[5]] and edited.json()["version"] == 2
    too_many = client.patch(path, json={"add_like": ids[10:14]}, headers=owner)
    assert too_many.status_code == 422 and "like would hold 6 ids" in too_many.json()["detail"]
    emptied = client.patch(path, json={"remove_like": [ids[1], ids[5]]}, headers=owner)
    assert emptied.status_code == 422 and "nothing liked" in emptied.json()["detail"]
    stale = client.put(path, json={"like": ids[7:8]}, headers={**owner, "If-Match": '"1"'})
    assert stale.status_code == 412 and "version 2" in stale.json()["detail"]
    assert client.put(path, json={"like": ids[7:8]}, headers={**owner, "If-Match": '"2"'}).json()["version"] == 3
    assert client.put(path, json={"like": ["0000.00000"]}, headers=owner).status_code == 404  # none held
    assert client.put(path, json={"bibtex": "@misc{a, author={X}}"}, headers=owner).status_code == 422
    assert client.get(path, headers=owner).json()["library"] == {"like": ids[7:8]}


def test_rotation_and_deletion_revoke_the_feed(client: TestClient, ids: list[str]) -> None:
    made = save(client, {"like": ids[:3], "k": 3})
    path, owner, old = f"/libraries/{made['id']}", bearer(made["owner_secret"]), path_of(made["feed_url"])
    first = client.get(old)
    assert first.status_code == 200 and "<entry>" in first.text
    assert client.get(old, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    client.patch(path, json={"add_dislike": [ids[4]]}, headers=owner)
    assert client.get(old, headers={"If-None-Match": first.headers["etag"]}).status_code == 200  # changed
    new = path_of(client.post(f"{path}/feed", headers=owner).json()["feed_url"])
    assert client.get(old).status_code == 410 and client.get(new).status_code == 200
    assert client.delete(path, headers=owner).status_code == 204
    assert client.get(new).status_code == 410 and client.get(path, headers=bearer(KEY)).status_code == 404
    assert client.get("/feeds/" + "A" * 43 + ".atom").status_code == 404


def test_a_50_mb_upload_is_refused_before_it_is_read(client: TestClient) -> None:
    too_big = client.post(
        "/libraries", content=b" " * 50_000_000, headers=bearer(KEY) | {"content-type": "application/json"}
    )
    assert too_big.status_code == 413 and "bytes" in too_big.json()["detail"]


def test_without_a_data_folder_saved_libraries_are_off(pipeline_repo: Path, ids: list[str]) -> None:
    with TestClient(create_app(cfg=Settings(models_dir=str(pipeline_repo / "models/bundle")))) as c:
        off = c.post("/libraries", json={"like": ids[:1]})
        assert off.status_code == 503 and "ARXIV_EMBED_DATA_DIR" in off.json()["detail"]


def uvicorn_server(models: Path, data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`uvicorn serve.app:app` with its access log on (into `log`), as a user may run it."""
    port = free_port()
    env = {"ARXIV_EMBED_MODELS_DIR": str(models), "ARXIV_EMBED_DATA_DIR": str(data), "PATH": ""}
    command = [sys.executable, "-m", "uvicorn", "serve.app:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/ready", 120, lambda: None if proc.poll() is None else log.read_text()[-2000:])
    return proc, url


def test_every_acknowledged_edit_survives_a_sigkill_and_no_token_reaches_the_access_log(
    pipeline_repo: Path, tmp_path: Path, ids: list[str]
) -> None:
    """Eight clients pin papers into one library at once; the server is killed mid-way; after a restart the
    library holds every pin that was answered 200, and the access log never showed the feed's token."""
    models, log = pipeline_repo / "models/bundle", tmp_path / "access.log"
    proc, url = uvicorn_server(models, tmp_path, log)
    made = httpx.post(f"{url}/libraries", json={"like": ids[:1]}).json()
    token = token_of(made["feed_url"])
    assert httpx.get(made["feed_url"]).status_code == 200
    path, owner = f"/libraries/{made['id']}", bearer(made["owner_secret"])
    pins = [f"9999.{n:05d}" for n in range(WRITERS * 25)]  # well-formed ids: kept, skipped by the feed
    acknowledged, lock, killed = [], threading.Lock(), threading.Event()

    def pin(writer: int) -> None:
        for paper in pins[writer::WRITERS]:
            try:
                answer = httpx.patch(f"{url}{path}", json={"add_like": [paper]}, headers=owner, timeout=30)
            except httpx.TransportError:
                return
            if answer.status_code == 200:
                with lock:
                    acknowledged.append(paper)
                    if len(acknowledged) == len(pins) // 2:
                        proc.send_signal(signal.SIGKILL)
                        killed.set()

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(pin, range(WRITERS)))
    assert killed.is_set() and proc.wait(timeout=30) == -signal.SIGKILL
    assert '"GET /feeds/<token> HTTP/1.1" 200' in log.read_text() and token not in log.read_text()
    proc, url = uvicorn_server(models, tmp_path, log)
    try:
        kept = httpx.get(f"{url}{path}", headers=owner).json()["library"]["like"]
        assert set(acknowledged) <= set(kept) and len(kept) == len(set(kept))
        assert httpx.get(made["feed_url"].replace(made["feed_url"].split("/feeds")[0], url)).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
