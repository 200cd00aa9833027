"""Training rows and the category-distinct batch sampler, on real papers (no model is trained here)."""

from __future__ import annotations

import pandas as pd
import pytest

from arxiv_embed.sources import read_papers
from arxiv_embed.training import DistinctLabelBatchSampler, TrainConfig, make_pairs


def config(loss: str, max_pairs: int = 1000) -> TrainConfig:
    return TrainConfig(
        epochs=1,
        loss=loss,
        batch_size=4,
        learning_rate=1e-4,
        warmup_ratio=0.1,
        max_pairs=max_pairs,
        seed=0,
        device="cpu",
        wandb="off",
    )


@pytest.fixture(scope="module")
def train(tiny_source) -> pd.DataFrame:
    return pd.DataFrame(read_papers(tiny_source)[0])


def test_pairs_share_the_primary_category(train: pd.DataFrame) -> None:
    category = {
        f"{t}. {a}": c for t, a, c in zip(train["title"], train["abstract"], train["primary_category"], strict=True)
    }
    pairs = make_pairs(train, "title_abstract", config("mnrl", max_pairs=250))
    assert len(pairs) == 250  # more pairs than papers: every paper anchors twice or more
    assert pd.Series(pairs["anchor"]).value_counts().min() >= 2
    for row in pairs:
        assert row["anchor"] != row["positive"] and category[row["anchor"]] == category[row["positive"]]
    assert len(make_pairs(train, "title_abstract", config("mnrl", max_pairs=10))) == 10


def test_contrastive_rows_are_half_negative(train: pd.DataFrame) -> None:
    pairs = make_pairs(train, "title_abstract", config("contrastive"))
    labels = pairs["label"]
    assert labels.count(1.0) == len(labels) // 2 and set(labels) == {0.0, 1.0}


def test_distinct_label_batches(train: pd.DataFrame) -> None:
    pairs = make_pairs(train, "title_abstract", config("mnrl_distinct"))
    sampler = DistinctLabelBatchSampler(pairs, batch_size=4, drop_last=False, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    labels = pairs["label"]
    for batch in batches:
        assert len({labels[i] for i in batch}) == len(batch) > 1
    covered = sorted(i for b in batches for i in b)
    assert len(covered) == len(set(covered)) and len(covered) >= 0.98 * len(pairs)  # only a lone tail is dropped


def test_triplet_rows_carry_labels(train: pd.DataFrame) -> None:
    rows = make_pairs(train, "abstract", config("batch_hard_soft_margin"))
    assert rows.column_names == ["text", "label"] and len(set(rows["label"])) == 5
