"""Batch samplers for the token path: length-grouped batches, planned once per epoch and split across ranks.

Each sampler plans *global* batches, then yields every global batch as `world_size` equal, consecutive slices.
accelerate hands rank r every world_size-th batch it sees, so rank r trains on slice r of each global batch and,
with embeddings gathered across ranks, N processes see exactly the batches one process would. The samplers say
`batch_size = None` (batches of varying length), which tells accelerate to keep every slice; `drop_last`, which
the trainer forces on under DDP, does not apply: slices are always equal, and tails are kept in every world size.
"""

from __future__ import annotations

import numpy as np
from datasets import Dataset
from sentence_transformers.base.sampler import DefaultBatchSampler

GROUP_WINDOW = 32  # batches whose rows are regrouped by length together


def column_array(dataset: Dataset, name: str) -> np.ndarray:
    """A dataset column as one numpy array (plain column access builds Python objects row by row)."""
    return dataset.with_format("numpy")[name][:]


class PlannedBatchSampler(DefaultBatchSampler):
    """Shared machinery: a per-epoch plan, cached (the trainer calls __len__ often), and the rank split."""

    def __init__(self, dataset: Dataset, *args, lengths: np.ndarray, world_size: int = 1, **kwargs) -> None:
        super().__init__(dataset, *args, **kwargs)
        self.global_batch_size, self.batch_size = self.batch_size, None
        self.lengths = np.asarray(lengths)
        self.world_size = world_size
        self._plan: tuple[int, list[list[int]]] | None = None

    def _global_batches(self, rng: np.random.Generator) -> list[list[int]]:
        raise NotImplementedError

    def _batches(self) -> list[list[int]]:
        if self._plan is None or self._plan[0] != self.epoch:
            rng = np.random.default_rng(self.seed + self.epoch)
            self._plan = (self.epoch, self._split(self._global_batches(rng)))
        return self._plan[1]

    def _split(self, batches: list[list[int]]) -> list[list[int]]:
        """Trim each global batch to a multiple of world_size (all-gather needs equal parts) and cut it up."""
        out = []
        for batch in batches:
            size = len(batch) - len(batch) % self.world_size
            if size < max(2, self.world_size):
                continue  # a lone row has no in-batch negative to learn from
            part = size // self.world_size
            out.extend(batch[r * part : (r + 1) * part] for r in range(self.world_size))
        return out

    def __iter__(self):
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())


class LengthGroupedBatchSampler(PlannedBatchSampler):
    """Random batches of similar length: shuffle, sort windows of GROUP_WINDOW batches by length, cut, shuffle."""

    def _global_batches(self, rng: np.random.Generator) -> list[list[int]]:
        order = rng.permutation(len(self.lengths))
        size = self.global_batch_size
        window = GROUP_WINDOW * size
        batches = []
        for start in range(0, len(order), window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + size].tolist() for i in range(0, len(chunk), size))
        return [batches[i] for i in rng.permutation(len(batches))]


class DistinctLabelBatchSampler(PlannedBatchSampler):
    """Batches whose rows all have different `label`s, so in-batch negatives never share the anchor's category.

    sentence-transformers' NoDuplicatesBatchSampler compares texts only; same-category papers are not duplicates
    but are not negatives either, which is what this sampler prevents. Length grouping keeps that guarantee: within
    a window of batches, a category's rows are only swapped among the slots that category already holds.
    """

    def __init__(self, dataset: Dataset, *args, **kwargs) -> None:
        super().__init__(dataset, *args, **kwargs)
        self.labels = column_array(dataset, "label")

    def _global_batches(self, rng: np.random.Generator) -> list[list[int]]:
        batches = self._distinct_batches(rng)
        for start in range(0, len(batches), GROUP_WINDOW):
            self._group_by_length(batches[start : start + GROUP_WINDOW])
        return [batches[i] for i in rng.permutation(len(batches))]

    def _distinct_batches(self, rng: np.random.Generator) -> list[list[int]]:
        """Each batch takes one row from each of `batch_size` categories drawn by how many rows they have left."""
        queues = {c: list(rng.permutation(np.flatnonzero(self.labels == c))) for c in np.unique(self.labels)}
        batches = []
        while queues:
            names = list(queues)
            left = np.array([len(queues[c]) for c in names], dtype=float)
            size = min(self.global_batch_size, len(names))
            picked = rng.choice(len(names), size=size, replace=False, p=left / left.sum())
            batches.append([int(queues[names[i]].pop()) for i in picked])
            queues = {c: q for c, q in queues.items() if q}
        return batches

    def _group_by_length(self, window: list[list[int]]) -> None:
        """In place: the k-th batch of the window gets each category's k-th shortest row among its slots there."""
        slots: dict[int, list[tuple[int, int]]] = {}
        for b, batch in enumerate(window):
            for pos, row in enumerate(batch):
                slots.setdefault(int(self.labels[row]), []).append((b, pos))
        for places in slots.values():
            rows = sorted((window[b][pos] for b, pos in places), key=lambda r: self.lengths[r])
            for (b, pos), row in zip(places, rows, strict=True):  # places are in batch order already
                window[b][pos] = row
