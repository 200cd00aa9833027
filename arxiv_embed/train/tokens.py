"""Token ids computed once per training paper and gathered into padded batches, so training never tokenizes.

The cache is two flat arrays, every paper's ids concatenated plus their offsets, saved as one `.npz`: no pickle,
no ragged Python lists, and a batch is a handful of vectorised numpy gathers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from arxiv_embed.errors import PipelineError

PAD_MULTIPLE = 8  # tensor cores want sequence lengths in multiples of 8


@dataclass(frozen=True)
class TokenCache:
    """Token ids of `len(offsets) - 1` texts: text i is `ids[offsets[i]:offsets[i + 1]]`."""

    ids: np.ndarray  # int32
    offsets: np.ndarray  # int64, starts with 0
    pad_id: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, ids=self.ids, offsets=self.offsets, pad_id=np.int64(self.pad_id))

    @classmethod
    def load(cls, path: str | os.PathLike) -> TokenCache:
        if not Path(path).is_file():
            raise PipelineError(f"{path} not found: run the tokenize stage first (dvc repro tokenize)")
        with np.load(path, allow_pickle=False) as data:
            return cls(data["ids"], data["offsets"], int(data["pad_id"]))

    def pad(self, rows: np.ndarray, multiple: int = PAD_MULTIPLE) -> dict[str, torch.Tensor]:
        """The model inputs of `rows`: ids right-padded to the batch's longest row, rounded up to `multiple`."""
        starts, lengths = self.offsets[rows], self.lengths[rows]
        width = int(-(-lengths.max() // multiple) * multiple)
        positions = np.arange(width)
        mask = positions[None, :] < lengths[:, None]
        gathered = self.ids[np.minimum(starts[:, None] + positions[None, :], len(self.ids) - 1)]
        input_ids = np.where(mask, gathered, self.pad_id).astype(np.int64)
        return {
            "input_ids": torch.from_numpy(input_ids),
            "token_type_ids": torch.zeros_like(torch.from_numpy(input_ids)),
            "attention_mask": torch.from_numpy(mask.astype(np.int64)),
        }


def tokenize(tokenizer, texts: Sequence[str], max_length: int, processes: int) -> TokenCache:
    """Tokenize with the fast tokenizer in batches across `processes` workers (datasets.map), as the model would."""
    from datasets import Dataset

    encoded = Dataset.from_dict({"text": list(texts)}).map(
        lambda batch: tokenizer(
            batch["text"],
            truncation=True,
            max_length=max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        ),
        batched=True,
        batch_size=1000,
        num_proc=processes if processes > 1 and len(texts) > 10_000 else None,
        remove_columns=["text"],
        desc="tokenize",
    )
    column = encoded.data.column("input_ids").combine_chunks()  # Arrow list<int>: flat values + lengths
    offsets = np.concatenate([[0], np.cumsum(column.value_lengths().to_numpy(zero_copy_only=False))])
    ids = column.flatten().to_numpy(zero_copy_only=False).astype(np.int32)
    return TokenCache(ids, offsets.astype(np.int64), int(tokenizer.pad_token_id))


@dataclass
class TokenCollator:
    """The trainer's collate_fn: rows of paper indices (one column per text role) become padded model inputs.

    Produces the `{column}_input_ids` / `_attention_mask` keys sentence-transformers' trainer splits into
    features for the loss; the label column passes through as a tensor.
    """

    tokens: TokenCache
    text_columns: tuple[str, ...]
    valid_label_columns: tuple[str, ...] = ("label",)

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        if "label" in features[0]:
            batch["label"] = torch.tensor([row["label"] for row in features])
        for column in self.text_columns:
            rows = np.fromiter((row[column] for row in features), dtype=np.int64, count=len(features))
            for key, value in self.tokens.pad(rows).items():
                batch[f"{column}_{key}"] = value
        return batch
