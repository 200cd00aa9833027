"""Recommendations for a reader's library without a pipeline run: the methods over a toy pool, the BibTeX reader,
the simulated readers, and the date ranges of a grown index."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import sparse

from arxiv_embed.data.arxiv_ids import id_month, id_order
from arxiv_embed.evaluation.reader_simulation import (
    BASELINE,
    MatrixPool,
    Simulation,
    best_by_shape,
    best_method,
    newest,
    ranking_quality,
    served_by_shape,
    simulate,
    simulate_readers,
)
from arxiv_embed.recommend.bibtex import read_bibtex
from arxiv_embed.recommend.entries import LibraryFileError, arxiv_id_of
from arxiv_embed.recommend.library_files import LIBRARY_FORMATS
from arxiv_embed.recommend.methods import (
    RECOMMENDERS,
    RankConfig,
    Reader,
    fit_linear,
    project,
    recommend,
    sparse_entries,
    top,
)
from arxiv_embed.recommend.spec import RecommendSpec
from arxiv_embed.search.papers import PaperEditor, PaperStore, write_papers

CFG = RankConfig(alpha=1.0, max_terms=50)
CATEGORIES = np.array(["cs.CL", "math.AP", "astro-ph.GA", "q-fin.ST"])


def toy_pool(per_category: int, seed: int) -> MatrixPool:
    """Papers whose embeddings cluster by category and whose TF-IDF terms are mostly their category's own."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(CATEGORIES, per_category)
    centres = np.random.default_rng(99).normal(size=(len(CATEGORIES), 16))  # shared by every pool
    which = np.repeat(np.arange(len(CATEGORIES)), per_category)
    vectors = centres[which] + 0.8 * rng.normal(size=(len(labels), 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [
        (np.unique(np.r_[rng.choice(10, 3), 10 + 20 * c + rng.choice(20, 5)]), None) for c in which
    ]  # 10 shared terms, 20 of each category's own
    rows = [(cols, np.full(len(cols), 1 / np.sqrt(len(cols)), np.float32)) for cols, _ in rows]
    indptr = np.r_[0, np.cumsum([len(c) for c, _ in rows])]
    tfidf = sparse.csr_matrix(
        (np.concatenate([v for _, v in rows]), np.concatenate([c for c, _ in rows]), indptr), shape=(len(rows), 100)
    )
    return MatrixPool(vectors.astype(np.float32), tfidf, labels)


@pytest.fixture(scope="module")
def pools() -> tuple[MatrixPool, MatrixPool]:
    return toy_pool(40, 0), toy_pool(15, 1)


def test_fit_linear_weighs_the_liked_side_up() -> None:
    rng = np.random.default_rng(0)
    liked, others = rng.normal(1, 0.3, (5, 8)), rng.normal(-1, 0.3, (50, 8))
    weights = fit_linear(np.vstack([liked, others]), 5, alpha=1.0)
    assert (liked @ weights).min() > (others @ weights).max()
    rows = [(np.array([3, 7]), np.array([0.5, 0.8])), (np.array([9]), np.array([0.25]))]
    assert project(sparse_entries(rows), np.array([1, 3, 5])).tolist() == [[0, 0.5, 0], [0, 0, 0]]
    assert project(sparse_entries(rows), np.array([1, 3, 9])).tolist() == [[0, 0.5, 0], [0, 0, 0.25]]


def test_top_is_the_k_best_with_ties_by_position() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.5, 0.7, 0.0, 0.2, 0.3, 0.4, 0.6, 0.5] + [0.0] * 12, np.float32)
    found, positions = top(scores, np.arange(24) + 100, 2)
    assert positions.tolist() == [101, 105] and found.tolist() == pytest.approx([0.9, 0.7])
    assert top(scores, np.arange(24), 4)[1].tolist() == [1, 5, 10, 0]  # of four papers at 0.5, the first
    assert top(scores, np.arange(24), 30)[1].tolist()[:5] == [1, 5, 10, 0, 2]


@pytest.mark.parametrize("method", list(RECOMMENDERS))
def test_every_method_finds_the_readers_category_and_never_returns_an_excluded_paper(
    pools: tuple[MatrixPool, MatrixPool], method: str
) -> None:
    library, candidates = pools
    liked = np.flatnonzero(library.labels == "math.AP")[:8]
    reader = Reader(
        library.examples(liked), library.examples(np.array([], int)), library.examples(np.arange(0, 160, 4))
    )
    excluded = set(np.flatnonzero(candidates.labels == "math.AP")[:3].tolist())
    scores, positions = recommend(method, reader, candidates, CFG, 10, excluded)
    assert len(positions) == 10 and not excluded & set(positions.tolist())
    assert np.all(np.diff(scores) <= 1e-6)  # best first
    assert np.mean(candidates.labels[positions] == "math.AP") >= 0.8


def test_simulated_readers_and_their_report(pools: tuple[MatrixPool, MatrixPool]) -> None:
    library, candidates = pools
    readers = simulate_readers(library.labels, candidates.labels, 5, 2, 6, seed=3)
    assert len(readers) == 6 and all(len(r.liked) == 5 and len(r.categories) == 2 for r in readers)
    again = simulate_readers(library.labels, candidates.labels, 5, 2, 6, seed=3)  # seeded
    assert [r.liked.tolist() for r in readers] == [r.liked.tolist() for r in again]
    assert ranking_quality(np.array([0, 1, 2]), np.array(["a", "b", "a"]), frozenset({"a"})) == pytest.approx(
        (0.2, (1 + 1 / 2) / (1 + 1 / np.log2(3)))
    )
    rows = simulate(library, candidates, CFG, Simulation([1, 5], [1, 2], 4, 40, 0))
    assert [(r["library"], r["interests"]) for r in rows] == [(1, 1), (5, 1), (5, 2)]  # 1 paper, 1 interest
    assert set(rows[0]) - {"library", "interests"} == {*RECOMMENDERS, BASELINE}
    assert all(0 <= r[m]["p@10_lo"] <= r[m]["p@10"] <= r[m]["p@10_hi"] <= 1 for r in rows for m in RECOMMENDERS)
    for r in rows:  # paired: each reader's P@10 less the baseline's
        m = r["linear_dense"]
        assert m["p@10_minus_svm"] == pytest.approx(m["p@10"] - r[BASELINE]["p@10"], abs=1e-3)
        assert r["centroid"]["p@10_minus_centroid"] == 0
    chosen, means = best_method(rows)
    assert chosen in RECOMMENDERS and means[chosen] == max(means.values())


def test_bibtex_entries_by_id_by_text_and_unusable() -> None:
    entries = read_bibtex(
        r"""@article{vaswani, title={Attention Is All {You} Need}, eprint={1706.03762v5}, archivePrefix={arXiv}}
        @misc{old, url={https://arxiv.org/abs/hep-th/9901001}}
        @book{knuth, title={The \TeX{}book}, abstract={A book about \'{e}l\'{e}gant type.}}
        @misc{nothing, author={Anon}}"""
    )
    assert [(e.key, e.arxiv_id, e.has_text) for e in entries] == [
        ("vaswani", "1706.03762", True),
        ("old", "hep-th/9901001", False),
        ("knuth", None, True),
        ("nothing", None, False),
    ]
    assert "élégant" in entries[2].text("title_abstract") and "{" not in entries[0].text("title_abstract")
    for broken in ("just some words", "@article{x, title={unclosed"):
        with pytest.raises(LibraryFileError, match="no entry that parses"):
            read_bibtex(broken)


@pytest.mark.parametrize(
    ("fields", "arxiv_id"),
    [
        ({"eprint": "2401.01234"}, "2401.01234"),  # Better BibTeX
        ({"eprint": "arXiv:2401.01234v3"}, "2401.01234"),
        ({"doi": "10.48550/arXiv.2401.01234"}, "2401.01234"),  # Zotero's arXiv DOI
        ({"url": "https://arxiv.org/pdf/2401.01234v2.pdf"}, "2401.01234"),
        ({"url": "http://arxiv.org/abs/math.AG/0601001v1"}, "math.AG/0601001"),
        ({"number": "arXiv:2401.01234"}, "2401.01234"),  # Zotero's preprint item
        ({"archiveid": "arXiv:2401.01234"}, "2401.01234"),
        ({"journal": "arXiv preprint arXiv:1706.03762"}, "1706.03762"),  # Google Scholar, older Zotero items
        ({"note": "arXiv:2401.01234 [cs]"}, "2401.01234"),
        ({"doi": "10.1103/PhysRevLett.2401.01234"}, None),  # a number like an id, without arXiv
        ({"url": "https://example.org/2401.01234"}, None),
        ({"note": "pages 2401.01234"}, None),
        ({"title": "A study of 2401.01234 things"}, None),
    ],
)
def test_an_arxiv_id_wherever_an_exporter_puts_it(fields: dict[str, str], arxiv_id: str | None) -> None:
    assert arxiv_id_of(fields) == arxiv_id


END = "ER  - "  # RIS ends a record with a tag and an empty value
ZOTERO_RIS = "\n".join(
    [
        "TY  - PREP",
        "TI  - Attention Is All You Need",
        "AU  - Vaswani, Ashish",
        "AB  - The dominant sequence transduction models are based on complex recurrent networks.",
        "DO  - 10.48550/arXiv.1706.03762",
        "UR  - http://arxiv.org/abs/1706.03762",
        "N1  - arXiv:1706.03762 [cs]",
        END,
        "TY  - BOOK",
        "T1  - The TeXbook",
        "AB  - A book about type.",
        END,
        "TY  - JOUR",
        "AU  - Anon",
        END,
    ]
)
ZOTERO_CSL_JSON = """[
  {"id": "http://zotero.org/users/1/items/AB12", "type": "article", "title": "Attention Is All You Need",
   "abstract": "The dominant sequence transduction models.", "number": "arXiv:1706.03762", "publisher": "arXiv"},
  {"id": "knuth", "type": "book", "title": "The TeXbook", "abstract": "A book about type."},
  {"id": "anon", "type": "article", "author": [{"family": "Anon"}]}
]"""


@pytest.mark.parametrize(("name", "text"), [("ris", ZOTERO_RIS), ("csl_json", ZOTERO_CSL_JSON)])
def test_zotero_ris_and_csl_json_exports(name: str, text: str) -> None:
    read, _ = LIBRARY_FORMATS[name]
    entries = read(text)
    assert [(e.arxiv_id, e.has_text) for e in entries] == [("1706.03762", True), (None, True), (None, False)]
    assert entries[1].text("title_abstract") == "The TeXbook. A book about type."
    with pytest.raises(LibraryFileError):
        read("TY  - JOUR\nTI  - never ends" if name == "ris" else "{not json")


def test_arxiv_id_months_and_order() -> None:
    assert [id_month(i) for i in ("2401.01234", "0704.0001v2", "hep-th/9901001", "math.AP/0601001", "x")] == [
        "2024-01",
        "2007-04",
        "1999-01",
        "2006-01",
        None,
    ]
    ids = np.array(["2401.00002", "hep-th/9901001", "2312.99999", "2401.00001"])
    assert sorted(ids, key=id_order) == ["hep-th/9901001", "2312.99999", "2401.00001", "2401.00002"]
    assert ids[newest(ids, 2)].tolist() == ["2401.00001", "2401.00002"]


def test_dates_select_papers_over_the_whole_store(tmp_path) -> None:
    """The base corpus by its ids' months, harvested papers by their first versions (here none: their ids')."""
    path = tmp_path / "papers.sqlite"
    write_papers(path, [(f"2301.{i:05d}", f"T{i}", "cs.CL") for i in range(5)] + [("2411.00009", "N", "cs.CL")])
    editor = PaperEditor(path)
    editor.append([("2412.00001", "A", "cs.CL", "2024-12-01", None), ("2412.00002", "B", "cs.CL", "2024-12-02", None)])
    editor.append([("2412.00003", "C", "cs.CL", "2024-12-01", "2024-11-20"), ("x-1", "D", "cs.CL", "2024-12-03", None)])
    editor.close()
    store = PaperStore(path)
    selected = {d: store.announced_from(dt.date.fromisoformat(d)).tolist() for d in ("2000-01-01", "2023-02-01",
                "2024-11-27", "2024-12-01", "2024-12-10", "2025-01-01")}  # fmt: skip
    assert selected == {
        "2000-01-01": list(range(10)),
        "2023-02-01": [5, 6, 7, 8, 9],
        "2024-11-27": [5, 6, 7, 8, 9],  # 2411.00009: its month has not ended; C: 7 days before, within the lag
        "2024-12-01": [6, 7, 9],
        "2024-12-10": [6, 7, 9],  # x-1 is dated by its record's datestamp, and may be announced a week later
        "2025-01-01": [],
    }
    base, harvested = store.rows([0, 7])
    assert (base, harvested) == (
        ("2301.00000", "T0", "cs.CL", None, None),
        ("2412.00002", "B", "cs.CL", "2024-12-02", None),
    )
    assert [r.date for r in store.rows([0, 7])] == ["2023-01", "2024-12"]  # no `created`: the month of the id


def test_the_served_method_follows_the_librarys_shape() -> None:
    """Per shape, the method best on val; a library is served the nearest shape's (size on a log scale)."""

    def row(library: int, interests: int, best: str) -> dict:
        scores = {name: {"p@10": 0.5, "p@10_hi": 0.55} for name in RECOMMENDERS} | {"arxiv_sanity_svm": {"p@10": 0.4}}
        return {"library": library, "interests": interests, **scores, best: {"p@10": 0.6, "p@10_hi": 0.65}}

    val = [row(1, 1, "nearest_liked"), row(20, 1, "centroid"), row(20, 3, "linear_and_nearest")]
    rule = best_by_shape(val, overall="linear_and_nearest")
    assert [(c.library, c.interests, c.method) for c in rule] == [
        (1, 1, "nearest_liked"), (20, 1, "centroid"), (20, 3, "linear_and_nearest")
    ]  # fmt: skip
    tie = {name: {"p@10": 0.5} for name in RECOMMENDERS}
    assert best_by_shape([{"library": 5, "interests": 1, **tie}], overall="fused")[0].method == "fused"
    spec = RecommendSpec(default_method="linear_and_nearest", alpha=1, max_terms=1, max_queries=1, negatives=1, seed=0)
    assert spec.method_for(20, 1) == "linear_and_nearest"  # no rule: the overall choice
    spec = spec.model_copy(update={"by_shape": rule})
    assert spec.method_for(2, 1) == "nearest_liked" and spec.method_for(12, 1) == "centroid"  # log scale: 12 ~ 20
    assert spec.method_for(40, 2) == "centroid" and spec.method_for(40, 5) == "linear_and_nearest"
    test = served_by_shape([row(20, 1, "fused")], spec)[0]
    assert test["served"] == "centroid" and test["served_within_best"] is False  # 0.55 < fused's 0.6
