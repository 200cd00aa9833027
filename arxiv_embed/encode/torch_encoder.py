"""The GPU corpus encoder: longest texts first, large bf16 batches, the next batch tokenized while this one runs.

sentence-transformers' `encode` tokenizes each batch on the main thread between forward passes, so the GPU idles
while the CPU tokenizes; here a worker thread tokenizes batch k+1 (the fast tokenizer releases the GIL) into
pinned memory while batch k is on the GPU.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arxiv_embed.train.models import load_trained_encoder
from arxiv_embed.train.tokens import PAD_MULTIPLE


class TorchCorpusEncoder:
    """Texts to L2-normalised float32 vectors with the trained torch encoder, in `dtype` on `device`."""

    def __init__(self, folder: Path, device: str, batch_size: int, dtype: torch.dtype = torch.bfloat16) -> None:
        self.model = load_trained_encoder(folder, device).to(dtype).eval()
        self.device = device
        self.batch_size = batch_size

    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        features = self.model.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.model.max_seq_length,
            pad_to_multiple_of=PAD_MULTIPLE,
            return_tensors="pt",
        )
        if self.device == "cuda":
            features = {k: v.pin_memory() for k, v in features.items()}
        return dict(features)

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        batches = [order[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        out = np.empty((len(texts), self.model.get_embedding_dimension()), dtype=np.float32)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._tokenize, [texts[i] for i in batches[0]]) if batches else None
            for k, rows in enumerate(batches):
                features = pending.result()
                if k + 1 < len(batches):
                    pending = pool.submit(self._tokenize, [texts[i] for i in batches[k + 1]])
                features = {key: value.to(self.device, non_blocking=True) for key, value in features.items()}
                vectors = self.model(features)["sentence_embedding"]
                out[rows] = F.normalize(vectors.float(), dim=-1).cpu().numpy()
        return out
