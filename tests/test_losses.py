"""The label-aware losses: the mask by hand, and every new loss training on batches larger than the categories."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.text import build_texts
from arxiv_embed.params import section
from arxiv_embed.train.losses import LabelMaskedMNRLoss
from arxiv_embed.train.models import load_sentence_model, load_tokenizer
from arxiv_embed.train.tokens import tokenize
from arxiv_embed.train.training import TrainConfig, finetune, make_pairs
from tests.conftest import committed_params

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def test_same_label_candidates_leave_the_softmax() -> None:
    rng = np.random.default_rng(0)
    queries, docs = (F.normalize(torch.tensor(rng.normal(size=(4, 8)), dtype=torch.float32), dim=-1) for _ in "qd")
    labels = torch.tensor([0, 0, 1, 2])
    loss = LabelMaskedMNRLoss(torch.nn.Identity()).compute_loss_from_embeddings([queries, docs], labels)
    scores = 20.0 * queries @ docs.T
    expected = []
    for i in range(4):
        keep = [j for j in range(4) if j == i or labels[j] != labels[i]]  # rows 0 and 1 hide each other
        expected.append(-(scores[i, i] - torch.logsumexp(scores[i, keep], dim=0)))
    torch.testing.assert_close(loss, torch.stack(expected).mean())
    distinct = torch.arange(4)  # no shared labels: nothing is masked, and it is the library's MNRL
    plain = MultipleNegativesRankingLoss(torch.nn.Identity()).compute_loss_from_embeddings([queries, docs], distinct)
    masked = LabelMaskedMNRLoss(torch.nn.Identity()).compute_loss_from_embeddings([queries, docs], distinct)
    torch.testing.assert_close(masked, plain)


@pytest.mark.parametrize("loss", ["mnrl_masked", "cached_mnrl", "prototype"])
def test_new_losses_train_with_batches_larger_than_the_categories(tiny_source, loss: str) -> None:
    """5 categories, batches of 8: every batch holds same-category rows, which the losses must cope with."""
    train = pd.DataFrame(read_papers(tiny_source)[0])
    texts = build_texts(train["title"], train["abstract"], "title_abstract")
    tokens = tokenize(load_tokenizer(MODEL), texts, max_length=32, processes=1)
    base = section(committed_params(), "train", TrainConfig)
    cfg = replace(base, loss=loss, batch_size=8, max_pairs=24, mini_batch_size=4, wandb="off", seed=0)
    pairs = make_pairs(train["primary_category"].to_numpy(), cfg)
    model = load_sentence_model(MODEL, "cpu", 32)
    before = next(model.parameters()).detach().clone()
    curve = finetune(model, pairs, tokens, cfg, "cpu")
    assert len(curve) == 3 and all(np.isfinite(c["loss"]) and c["loss"] > 0 for c in curve)
    assert not torch.equal(before, next(model.parameters()).detach())
