"""/recommend and /feed.atom over HTTP on the tiny pipeline's bundle: every input form, every refusal, the feed."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from arxiv_embed.recommend.methods import RECOMMENDERS
from serve.app import create_app
from serve.settings import Settings

pytestmark = pytest.mark.e2e
LIMIT = 5  # the max_library of the app under test
ENTRIES, TEXTS = 60, 4  # its max_library_entries and max_library_texts


@pytest.fixture(scope="module")
def client(pipeline_repo: Path):
    cfg = Settings(
        models_dir=str(pipeline_repo / "models/bundle"),
        max_library=LIMIT,
        max_library_entries=ENTRIES,
        max_library_texts=TEXTS,
    )
    with TestClient(create_app(cfg=cfg)) as c:
        yield c


@pytest.fixture(scope="module")
def liked(test_papers: pd.DataFrame) -> list[str]:
    return test_papers["id"].head(3).tolist()


def test_liked_ids_give_dated_scored_papers_never_the_liked_ones(client: TestClient, liked: list[str]) -> None:
    answer = client.post("/recommend", json={"like": liked, "k": 5}).json()
    assert answer["method"] == client.get("/ready").json()["recommend_method"] in RECOMMENDERS
    results = answer["results"]
    assert len(results) == 5 and not {r["id"] for r in results} & set(liked)
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert all(r["date"] and -1 <= r["similarity"] <= 1 and r["title"] for r in results)
    assert answer["library"] == {"liked_ids": 3, "liked_texts": 0, "disliked_ids": 0, "disliked_texts": 0} | {
        "file_entries": 0,
        "file_entries_by_id": 0,
        "file_entries_by_text": 0,
        "texts_left_out": 0,
    }
    assert answer["since"] is None and answer["unused"] == []


@pytest.mark.parametrize("method", list(RECOMMENDERS))
def test_every_method_honours_exclude_and_dislike(client: TestClient, liked: list[str], method: str) -> None:
    first = client.post("/recommend", json={"like": liked, "k": 4, "method": method}).json()
    assert first["method"] == method and len(first["results"]) == 4
    seen, disliked = first["results"][0]["id"], first["results"][1]["id"]
    body = {"like": liked, "k": 4, "method": method, "exclude": [seen], "dislike": [disliked]}
    again = client.post("/recommend", json=body).json()["results"]
    assert not {seen, disliked} & {r["id"] for r in again}


def test_texts_and_a_bibtex_library(client: TestClient, test_papers: pd.DataFrame) -> None:
    by_id, by_text = test_papers.iloc[0], test_papers.iloc[4]
    bibtex = f"""@article{{mine, title={{{by_id["title"]}}}, eprint={{{by_id["id"]}v1}}, archivePrefix={{arXiv}}}}
    @misc{{notes, title={{{by_text["title"]}}}, abstract={{{by_text["abstract"]}}}}}
    @misc{{empty, author={{Someone}}}}"""
    answer = client.post("/recommend", json={"bibtex": bibtex, "like_texts": ["Galaxy rotation curves."]}).json()
    assert answer["library"]["liked_ids"] == 1 and answer["library"]["liked_texts"] == 2
    assert answer["unused"] == ["empty"] and by_id["id"] not in {r["id"] for r in answer["results"]}
    names = {by_id["id"], "notes", "like_texts[0]"}  # each liked paper as a result names it
    assert all(r["nearest_liked"] and set(r["nearest_liked"]) <= names for r in answer["results"])


def test_a_whole_library_file_is_matched_by_id_sampled_by_text_and_named_where_unused(
    client: TestClient, test_papers: pd.DataFrame
) -> None:
    """A library over the request lists' limit: ids of the index count as papers, the rest as text, of which a
    seeded sample of max_library_texts is encoded."""
    held = test_papers.iloc[:10]
    csl = [{"id": f"held{i}", "title": "x", "URL": f"https://arxiv.org/abs/{p}v2"} for i, p in enumerate(held["id"])]
    csl += [  # the same papers, as entries without an id: read as text
        {"id": f"text{i}", "title": t, "abstract": a}
        for i, (t, a) in enumerate(zip(held["title"], held["abstract"], strict=True))
    ]
    csl += [{"id": "bare", "type": "article"}]
    answer = client.post("/recommend", json={"csl_json": json.dumps(csl), "k": 5}).json()
    assert answer["library"] == {
        "liked_ids": 10,
        "liked_texts": TEXTS,
        "disliked_ids": 0,
        "disliked_texts": 0,
        "file_entries": 21,
        "file_entries_by_id": 10,
        "file_entries_by_text": 10,
        "texts_left_out": 10 - TEXTS,
    }
    assert answer["unused"] == ["bare"] and len(answer["results"]) == 5
    assert not {r["id"] for r in answer["results"]} & set(held["id"])
    again = client.post("/recommend", json={"csl_json": json.dumps(csl), "k": 5}).json()
    assert again["results"] == answer["results"]  # the sample is seeded


def test_every_library_format_reads_the_same_library(client: TestClient, test_papers: pd.DataFrame) -> None:
    ids = test_papers["id"].head(3).tolist()
    files = {
        "bibtex": "".join(f"@misc{{k{i}, eprint={{arXiv:{p}}}}}\n" for i, p in enumerate(ids)),
        "ris": "".join(f"TY  - PREP\nTI  - t\nDO  - 10.48550/arXiv.{p}\nER  - \n" for p in ids),
        "csl_json": json.dumps([{"id": f"k{i}", "number": f"arXiv:{p}"} for i, p in enumerate(ids)]),
    }
    answers = [client.post("/recommend", json={name: text, "k": 4}).json() for name, text in files.items()]
    assert all(a["library"]["file_entries_by_id"] == 3 for a in answers)
    assert answers[0]["results"] == answers[1]["results"] == answers[2]["results"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"like": ["0000.00000"]}, 404, "not in the index: 0000.00000"),
        ({"bibtex": "@article{x, title={unclosed"}, 422, "no entry that parses"),
        ({"bibtex": "@misc{x, author={A}}"}, 422, "nothing in the library can be used"),
        ({"like_texts": ["a"], "since": "2999-01-01"}, 422, "in the future"),
        ({"like_texts": ["a"], "since": "2024-13-01"}, 422, "date"),
        ({"like": []}, 422, "at least 1"),
        ({"like": [f"2401.{i:05d}" for i in range(LIMIT + 1)]}, 422, f"at most {LIMIT}"),
        ({"k": 3}, 422, "Field required: one of bibtex, csl_json, like, like_texts, ris"),
        ({"ris": "TY  - JOUR\nTI  - never ends"}, 422, "ris: the RIS library"),
        ({"csl_json": "{not json"}, 422, "csl_json: the CSL JSON library does not parse"),
        ({"bibtex": "".join(f"@misc{{x{i}, title={{t}}}}" for i in range(ENTRIES + 1))}, 422, f"takes {ENTRIES}"),
    ],
)
def test_bad_libraries_are_4xx_with_a_reason(client: TestClient, body: dict, status: int, reason: str) -> None:
    response = client.post("/recommend", json=body)
    assert response.status_code == status and reason in response.text


def test_since_selects_the_base_corpus_by_its_ids_months(client: TestClient, liked: list[str]) -> None:
    """A bundle with no harvest has dates too: each paper's id month (2503 is the tiny corpus's newest)."""
    assert client.get("/ready").json()["feed_since"] is None  # no harvest yet: a feed ranks every paper
    answer = client.post("/recommend", json={"like": liked, "since": "2025-02-01"}).json()
    assert answer["since"] == "2025-02-01" and answer["note"] is None
    assert answer["results"] and all(r["date"] >= "2025-02" for r in answer["results"])
    everything = client.post("/recommend", json={"like": liked, "since": "2000-01-01", "k": 30}).json()["results"]
    assert len(everything) == 30 and min(r["date"] for r in everything) < "2025-03"
    empty = client.post("/recommend", json={"like": liked, "since": "2025-04-01"}).json()
    assert empty["results"] == [] and empty["note"].startswith(
        "no paper was first announced on or after 2025-04-01; the newest paper's first version dates from 2025-03-01"
    )
    assert client.post("/recommend", json={"like": liked}).json()["note"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"like_texts": ["a"], "since": "2024-13-01"}, ["body", "since"]),
        ({"ris": ""}, ["body", "ris"]),
        ({"like": ["2401.00001"], "k": 0}, ["body", "k"]),
        ({"k": 3}, ["body"]),
    ],
)
def test_a_422_names_the_field_at_fault_once(client: TestClient, body: dict, loc: list[str]) -> None:
    """Not once per variant of the body's union (by ids, by texts, as BibTeX)."""
    (error,) = client.post("/recommend", json=body).json()["detail"]
    assert error["loc"] == loc


def test_the_feed_parses_and_a_second_poll_is_304(client: TestClient, liked: list[str]) -> None:
    query = "&".join(f"like={i}" for i in liked[:2]) + "&k=6"
    response = client.get(f"/feed.atom?{query}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo and feed.version == "atom10" and "new papers like yours" in feed.feed.title
    assert len(feed.entries) == 6
    assert all(e.link == f"https://arxiv.org/abs/{e.id.rsplit('/abs/', 1)[1]}" and e.title for e in feed.entries)
    assert not {e.link.rsplit("/abs/", 1)[1] for e in feed.entries} & set(liked[:2])
    etag = response.headers["etag"]
    again = client.get(f"/feed.atom?{query}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(f"/feed.atom?{query}&k=5").headers["etag"] != etag
    assert client.get("/feed.atom?like=0000.00000").status_code == 404


def test_the_feed_leaves_out_an_id_the_index_lacks_and_names_it(client: TestClient, liked: list[str]) -> None:
    """A withdrawn or never-indexed paper in a subscribed feed's URL does not turn the feed into a 404."""
    response = client.get(f"/feed.atom?like={liked[0]}&like=0000.00000&k=4&method=centroid")
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert "not in the index, left out: 0000.00000" in feed.feed.subtitle and "ranked by centroid" in feed.feed.subtitle
    assert len(feed.entries) == 4
    assert client.get("/feed.atom?like=0000.00000&like=0000.00001").status_code == 404  # none held: named
    assert client.get(f"/feed.atom?like={liked[0]}&method=nope").status_code == 422
    answer = client.post("/recommend", json={"like": liked[:1], "k": 2}).json()
    assert answer["skipped"] == []  # /recommend answers an unknown id with a 404 that names it


def test_the_served_method_follows_the_librarys_shape(client: TestClient, test_papers: pd.DataFrame) -> None:
    """Unless a request names one, a library is ranked by the method chosen on val for its shape (`/ready`)."""
    ready = client.get("/ready").json()
    rule = {(c["library"], c["interests"]): c["method"] for c in ready["recommend_by_shape"]}
    assert rule and set(rule.values()) <= set(RECOMMENDERS)
    one = client.post("/recommend", json={"like": test_papers["id"].head(1).tolist()}).json()
    assert one["method"] == rule.get((1, 1), ready["recommend_method"])
    asked = client.post("/recommend", json={"like": test_papers["id"].head(1).tolist(), "method": "centroid"})
    assert asked.json()["method"] == "centroid"
