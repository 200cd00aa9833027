"""A torch-free sentence encoder: `tokenizers` + onnxruntime or OpenVINO, giving the pipeline's embeddings.

Pooling and L2 normalisation are inside the exported graph, so this class only tokenizes, batches and runs.
Batches are cut by a token budget, not a row count: texts are sorted by length and each onnxruntime call gets
as many as fit `max_tokens` padded tokens, so short texts go in large batches and long ones in small batches
whose activations stay in the CPU's caches (benchmarks/encode.py measures the budget). Tokenizing the next chunk
of a long input runs in a thread while the graph runs on the current one; both release the GIL.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer
from tqdm.auto import tqdm

from arxiv_embed.encode.runtimes import DEFAULT_RUNTIME, RUNTIMES, runtime_of

log = logging.getLogger(__name__)

CONFIG_FILE = "encoder_config.json"
TOKENIZER_FILE = "tokenizer.json"
MODEL_FILES = RUNTIMES[DEFAULT_RUNTIME].files  # the exported graphs, which every bundle carries
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # a graph declares these or the first two
PARITY_FILE = "parity.json"  # the export stage's parity check of each model, read before one is used
DEFAULT_MAX_TOKENS = 1024  # padded tokens per onnxruntime call: 8 texts of 128 tokens
TOKENIZE_CHUNK = 512  # texts tokenized ahead of the graph in one go


def token_batches(lengths: Sequence[int], max_tokens: int) -> list[np.ndarray]:
    """Positions in ascending length, cut so that rows x longest row stays within `max_tokens` (a text longer
    than the budget goes alone)."""
    batches: list[np.ndarray] = []
    order = np.argsort(np.asarray(lengths), kind="stable")
    start = 0
    for end, position in enumerate(order):
        if end > start and (end - start + 1) * lengths[position] > max_tokens:
            batches.append(order[start:end])
            start = end
    if len(order):
        batches.append(order[start:])
    return batches


class OnnxEncoder:
    """Encode texts with an exported model folder (model.onnx, model_int8.onnx, tokenizer.json, config)."""

    def __init__(
        self,
        folder: str | os.PathLike,
        variant: str = "fp32",
        threads: int = 0,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        spinning: bool = True,
        runtime: str = DEFAULT_RUNTIME,
        graph_folder: str | os.PathLike | None = None,
    ) -> None:
        """`runtime` runs the variant's graph (`runtimes.RUNTIMES`), found in `graph_folder` (default: `folder`,
        which holds the tokenizer and config); `spinning=False` lets onnxruntime's idle threads sleep."""
        folder = Path(folder)
        if variant not in MODEL_FILES:
            raise ValueError(f"unknown ONNX variant {variant!r}; expected one of {', '.join(MODEL_FILES)}")
        self.config = json.loads((folder / CONFIG_FILE).read_text())
        self.variant = variant
        self.runtime = runtime
        self.max_tokens = max_tokens
        self.max_seq_length = int(self.config["max_seq_length"])
        self.dim = int(self.config["dim"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        graph = Path(graph_folder or folder) / runtime_of(runtime).files[variant]
        self.graph = RUNTIMES[runtime].open(graph, variant, threads, spinning)
        self.pad_id = int(self.config.get("pad_token_id", 0))

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Token ids of each text, truncated to the model's maximum length and not padded."""
        return self.tokenizer.encode_batch(list(texts))

    def feeds(self, encodings: list[Encoding]) -> dict[str, np.ndarray]:
        """The graph's inputs for some tokenized texts, padded to the longest."""
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = 1
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {k: v for k, v in feeds.items() if k in self.graph.input_names}

    def encode_tokens(self, encodings: list[Encoding]) -> np.ndarray:
        """Embeddings of tokenized texts, one row each, in token-budget batches."""
        out = np.zeros((len(encodings), self.dim), dtype=np.float32)
        for rows in token_batches([len(e.ids) for e in encodings], self.max_tokens):
            out[rows] = self.graph(self.feeds([encodings[i] for i in rows]))
        return out

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text."""
        chunks = [texts[start : start + TOKENIZE_CHUNK] for start in range(0, len(texts), TOKENIZE_CHUNK)]
        if len(chunks) <= 1:
            return self.encode_tokens(self.tokenize(texts)) if texts else np.zeros((0, self.dim), np.float32)
        parts = []
        with (
            ThreadPoolExecutor(1) as pool,
            tqdm(total=len(texts), desc=f"onnx {self.variant} encode", disable=not progress) as bar,
        ):
            pending = pool.submit(self.tokenize, chunks[0])
            for following in [*chunks[1:], None]:
                encodings = pending.result()
                if following is not None:
                    pending = pool.submit(self.tokenize, following)
                parts.append(self.encode_tokens(encodings))
                bar.update(len(encodings))
        return np.concatenate(parts)
