"""Training rows, the token cache and the length-grouped samplers, on real papers (no model is trained here)."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.text import build_texts
from arxiv_embed.device import resolve_device
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import section
from arxiv_embed.train.batching import DistinctLabelBatchSampler, LengthGroupedBatchSampler
from arxiv_embed.train.models import load_sentence_model, load_tokenizer
from arxiv_embed.train.tokens import TokenCache, TokenCollator, tokenize
from arxiv_embed.train.training import TrainConfig, make_pairs
from tests.conftest import committed_params

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# The committed train params, with a small batch for 5 categories.
CONFIG = replace(section(committed_params(), "train", TrainConfig), batch_size=4, seed=0, device="cpu")


def config(loss: str, max_pairs: int = 1000) -> TrainConfig:
    return replace(CONFIG, loss=loss, max_pairs=max_pairs)


@pytest.fixture(scope="module")
def train(tiny_source) -> pd.DataFrame:
    return pd.DataFrame(read_papers(tiny_source)[0])


@pytest.fixture(scope="module")
def categories(train: pd.DataFrame) -> np.ndarray:
    return train["primary_category"].to_numpy()


@pytest.fixture(scope="module")
def texts(train: pd.DataFrame) -> list[str]:
    return build_texts(train["title"], train["abstract"], "title_abstract")


@pytest.fixture(scope="module")
def tokens(texts: list[str]) -> TokenCache:
    return tokenize(load_tokenizer(MODEL), texts, max_length=128, processes=2)


def test_pairs_share_the_primary_category(categories: np.ndarray) -> None:
    pairs = make_pairs(categories, config("mnrl", max_pairs=250))
    assert len(pairs) == 250  # more pairs than papers: every paper anchors twice or more
    assert pd.Series(pairs["anchor"]).value_counts().min() >= 2
    for row in pairs:
        assert row["anchor"] != row["positive"] and categories[row["anchor"]] == categories[row["positive"]]
    assert len(make_pairs(categories, config("mnrl", max_pairs=10))) == 10


def test_contrastive_rows_are_half_negative(categories: np.ndarray) -> None:
    labels = make_pairs(categories, config("contrastive"))["label"]
    assert labels.count(1.0) == len(labels) // 2 and set(labels) == {0.0, 1.0}


def test_triplet_rows_carry_labels(categories: np.ndarray) -> None:
    rows = make_pairs(categories, config("batch_hard_soft_margin"))
    assert rows.column_names == ["text", "label"] and len(set(rows["label"])) == 5


def test_cached_tokens_are_what_the_model_tokenizes(texts: list[str], tokens: TokenCache) -> None:
    """The collator's padded ids equal model.preprocess's, padded on to a multiple of 8; the vectors are equal."""
    model = load_sentence_model(MODEL, "cpu", 128).eval()
    rows = np.arange(16)
    reference = model.preprocess([texts[i] for i in rows])
    padded = tokens.pad(rows)
    width = reference["input_ids"].shape[1]
    assert padded["input_ids"].shape[1] % 8 == 0 and padded["input_ids"].shape[1] - width < 8
    assert torch.equal(padded["input_ids"][:, :width], reference["input_ids"])
    assert torch.equal(padded["attention_mask"][:, :width], reference["attention_mask"])
    assert not padded["attention_mask"][:, width:].any()
    with torch.no_grad():
        ours = model(dict(padded))["sentence_embedding"]
        theirs = model(dict(reference))["sentence_embedding"]
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_token_cache_round_trip(tokens: TokenCache, tmp_path) -> None:
    tokens.save(tmp_path / "t.npz")
    loaded = TokenCache.load(tmp_path / "t.npz")
    assert np.array_equal(loaded.ids, tokens.ids) and np.array_equal(loaded.offsets, tokens.offsets)
    assert (tokens.lengths <= 128).all() and tokens.lengths.min() > 2


def test_collator_builds_the_trainer_columns(categories: np.ndarray, tokens: TokenCache) -> None:
    pairs = make_pairs(categories, config("mnrl_masked", max_pairs=8))
    batch = TokenCollator(tokens, ("anchor", "positive"))([pairs[i] for i in range(4)])
    assert set(batch) == {
        "label",
        *(f"{c}_{k}" for c in ("anchor", "positive") for k in ("input_ids", "token_type_ids", "attention_mask")),
    }
    assert batch["label"].tolist() == pairs["label"][:4]


def padding_share(batches: list[list[int]], lengths: np.ndarray) -> float:
    padded = sum(len(b) * lengths[b].max() for b in batches)
    return 1 - sum(lengths[b].sum() for b in batches) / padded


@pytest.mark.parametrize("world_size", [1, 2])
def test_distinct_label_batches_grouped_by_length(categories: np.ndarray, world_size: int) -> None:
    """Every batch keeps one row per category, every row is used once, and length grouping cuts the padding."""
    pairs = make_pairs(categories, config("mnrl_distinct"))
    lengths = np.random.default_rng(0).integers(20, 128, len(pairs))
    sampler = DistinctLabelBatchSampler(pairs, 4, False, seed=3, lengths=lengths, world_size=world_size)
    batches = list(sampler)
    assert len(batches) == len(sampler) and sampler.batch_size is None
    labels = np.asarray(pairs["label"])
    global_batches = [sum(batches[i : i + world_size], []) for i in range(0, len(batches), world_size)]
    for batch in global_batches:
        assert len(set(labels[batch])) == len(batch) > 1 and len(batch) % world_size == 0
    for i in range(0, len(batches), world_size):  # ranks get equal slices: all-gather needs equal shapes
        assert len({len(b) for b in batches[i : i + world_size]}) == 1
    covered = sorted(i for b in batches for i in b)
    assert len(covered) == len(set(covered)) and len(covered) >= 0.95 * len(pairs)  # only trimmed tails drop
    ungrouped = DistinctLabelBatchSampler(pairs, 4, False, seed=3, lengths=np.zeros(len(pairs)), world_size=1)
    assert padding_share(batches, lengths) < 0.6 * padding_share(list(ungrouped), lengths)


def test_length_grouped_batches(categories: np.ndarray) -> None:
    pairs = make_pairs(categories, config("mnrl_masked"))
    lengths = np.random.default_rng(1).integers(20, 128, len(pairs))
    sampler = LengthGroupedBatchSampler(pairs, 8, False, seed=0, lengths=lengths)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(pairs)))
    assert list(sampler) == batches  # planned once per epoch
    sampler.set_epoch(1)
    assert list(sampler) != batches
    assert padding_share(batches, lengths) < 0.1


def test_auto_device_says_which_it_took_and_cuda_without_a_gpu_stops(caplog: pytest.LogCaptureFixture) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: nothing to refuse")
    with caplog.at_level(logging.INFO, logger="arxiv_embed.device"):
        assert resolve_device("auto", "train.device") == "cpu"
    assert "train.device: auto took cpu" in caplog.text
    with pytest.raises(PipelineError, match=r"^embed.device is cuda but torch sees no GPU .*make setup-gpu"):
        resolve_device("cuda", "embed.device")
