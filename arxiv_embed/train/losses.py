"""What sentence-transformers' losses lack for category labels: label masking and category prototypes.

The in-batch losses themselves (MultipleNegativesRankingLoss, its GradCache variant) are the library's; these
classes only change which in-batch candidates count as negatives, or add a term next to them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sentence_transformers.base.losses.merged_forward import embed_columns
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from sentence_transformers.util import all_gather, all_gather_with_grad, get_rank
from torch import Tensor, nn


class LabelMaskedMNRLoss(MultipleNegativesRankingLoss):
    """MNRL whose softmax leaves out in-batch candidates that share the anchor's label.

    Same-category papers are not negatives, yet plain MNRL pushes them apart; masking them lets batches take any
    size instead of at most one paper per category. With `gather_across_devices`, candidates and their labels
    come from every rank, so N processes compute the loss of one process on the same global batch.
    """

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        queries, docs = embeddings[0], embeddings[1]
        doc_labels, offset = labels, 0
        if self.gather_across_devices:
            docs, doc_labels = all_gather_with_grad(docs), all_gather(labels)
            offset = get_rank() * len(queries)
        own = torch.arange(offset, offset + len(queries), device=queries.device)
        scores = self.similarity_fct(queries, docs) * self.scale
        same = labels[:, None] == doc_labels[None, :]
        same[torch.arange(len(queries)), own] = False
        return F.cross_entropy(scores.masked_fill(same, -torch.inf), own)


class PrototypeLoss(nn.Module):
    """Label-masked MNRL plus a pull of each anchor toward a learned prototype of its category.

    The prototype term is a cosine softmax over all categories (scale as in MNRL), so it also pushes anchors away
    from other categories' prototypes, which the in-batch term only sees a handful of at a time.
    """

    def __init__(self, in_batch: LabelMaskedMNRLoss, n_classes: int, weight: float) -> None:
        super().__init__()
        self.in_batch = in_batch
        self.model = in_batch.model
        self.weight = weight
        dim = self.model.get_embedding_dimension()
        self.prototypes = nn.Parameter(torch.randn(n_classes, dim) / dim**0.5)

    def forward(self, sentence_features, labels: Tensor) -> Tensor:
        embeddings = embed_columns(self.model, sentence_features)
        contrastive = self.in_batch.compute_loss_from_embeddings(embeddings, labels)
        logits = F.normalize(embeddings[0], dim=-1) @ F.normalize(self.prototypes, dim=-1).T
        return contrastive + self.weight * F.cross_entropy(logits * self.in_batch.scale, labels)
