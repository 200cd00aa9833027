"""The losses `train.loss` can name: one entry each, saying how to build it, its rows and how batches are cut.

Adding a loss is one `LossSpec` in `LOSSES`: the config check, the training rows, the batch sampler, the torchrun
rules and the texts/s count all read it from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer import losses
from torch import nn

from arxiv_embed.train.batching import DistinctLabelBatchSampler, LengthGroupedBatchSampler, PlannedBatchSampler
from arxiv_embed.train.losses import LabelMaskedMNRLoss, PrototypeLoss

Rows = Literal["pairs", "scored_pairs", "labelled_texts"]
# (model, number of category labels, gather across ranks, the TrainConfig) -> the loss module
Builder = Callable[[SentenceTransformer, int, bool, Any], nn.Module]


@dataclass(frozen=True)
class LossSpec:
    """How one loss trains.

    `rows`: `pairs` (anchor, positive, label), `scored_pairs` (sentence1, sentence2, 1/0 label: half negatives)
    or `labelled_texts` (text, label). `sampler`: one of ours (it plans global batches and splits them across
    torchrun ranks) or one of the library's (each rank then takes `batch_size / processes` rows a step).
    """

    build: Builder
    rows: Rows
    sampler: type[PlannedBatchSampler] | BatchSamplers
    multi_process: bool = True  # False: its state is not synchronised across ranks

    @property
    def plans_global_batches(self) -> bool:
        return isinstance(self.sampler, type) and issubclass(self.sampler, PlannedBatchSampler)

    @property
    def texts_per_row(self) -> int:
        return 1 if self.rows == "labelled_texts" else 2


LOSSES: dict[str, LossSpec] = {
    "mnrl": LossSpec(
        lambda model, n, gather, cfg: losses.MultipleNegativesRankingLoss(model, gather_across_devices=gather),
        "pairs",
        BatchSamplers.NO_DUPLICATES,
    ),
    # no two rows of a batch share a category, so in-batch negatives are real negatives
    "mnrl_distinct": LossSpec(
        lambda model, n, gather, cfg: losses.MultipleNegativesRankingLoss(model, gather_across_devices=gather),
        "pairs",
        DistinctLabelBatchSampler,
    ),
    # any batch size: same-category candidates are left out of the softmax
    "mnrl_masked": LossSpec(
        lambda model, n, gather, cfg: LabelMaskedMNRLoss(model, gather_across_devices=gather),
        "pairs",
        LengthGroupedBatchSampler,
    ),
    # GradCache MNRL for batches larger than memory
    "cached_mnrl": LossSpec(
        lambda model, n, gather, cfg: losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=cfg.mini_batch_size, gather_across_devices=gather
        ),
        "pairs",
        LengthGroupedBatchSampler,
    ),
    "prototype": LossSpec(
        lambda model, n, gather, cfg: PrototypeLoss(LabelMaskedMNRLoss(model), n, cfg.prototype_weight),
        "pairs",
        LengthGroupedBatchSampler,
        multi_process=False,
    ),
    "contrastive": LossSpec(
        lambda model, n, gather, cfg: losses.ContrastiveLoss(model), "scored_pairs", BatchSamplers.BATCH_SAMPLER
    ),
    "batch_hard_soft_margin": LossSpec(
        lambda model, n, gather, cfg: losses.BatchHardSoftMarginTripletLoss(model),
        "labelled_texts",
        BatchSamplers.GROUP_BY_LABEL,
    ),
}
