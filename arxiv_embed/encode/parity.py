"""Parity checks: each ONNX graph against the torch model it was made from, on validation papers.

The export stage holds the fp32 graph to torch by minimum cosine and the int8 graph by mean cosine and P@10
among the papers; the adapter stage holds each served graph to the stored vectors and the sentence-transformers
copy to the served fp32 graph. A failed bar stops the stage with one line naming the param to change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sentence_transformers import SentenceTransformer

from arxiv_embed.data.text import build_texts
from arxiv_embed.encode.onnx_encoder import MODEL_FILES, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig
from arxiv_embed.errors import PipelineError
from arxiv_embed.metrics import cosines, leave_one_out_precision


def parity_sample(split_file: Path, n: int, field: str) -> tuple[list[str], pd.Series]:
    """The first `n` papers of a split: their texts and primary categories."""
    papers = pd.read_parquet(split_file).head(n)
    return build_texts(papers["title"], papers["abstract"], field), papers["primary_category"]


def torch_vectors(model: SentenceTransformer, texts: list[str]) -> np.ndarray:
    return model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


def check_int8(
    reference: np.ndarray, vectors: np.ndarray, labels, cfg: OnnxConfig, names: tuple[str, str], fix: str
) -> tuple[dict[str, float], dict[str, float]]:
    """An int8 graph's `vectors` against the `reference` vectors of the same texts: the cosines and P@10 among the
    papers of each (keyed by `names`, reference first); raises PipelineError below `onnx`'s int8 bars, with `fix`."""
    found = cosines(reference, vectors)
    base, int8 = names
    p10 = {base: leave_one_out_precision(reference, labels), int8: leave_one_out_precision(vectors, labels)}
    if found["mean_cosine"] < cfg.int8_min_mean_cosine or p10[base] - p10[int8] > cfg.max_p10_drop:
        raise PipelineError(
            f"{int8} parity failed on {len(vectors)} texts: mean cosine {found['mean_cosine']:.5f} (onnx."
            f"int8_min_mean_cosine {cfg.int8_min_mean_cosine}), P@10 {p10[int8]} vs {base} {p10[base]} "
            f"(onnx.max_p10_drop {cfg.max_p10_drop}); {fix}"
        )
    return found, p10


def check_export(reference: np.ndarray, graphs: Path, texts: list[str], labels, cfg: OnnxConfig) -> dict:
    """The exported fp32 and int8 graphs in `graphs` against torch's vectors of `texts` (`reference`, computed
    before the export traced the model); raises PipelineError below a bar."""
    fp32 = cosines(reference, OnnxEncoder(graphs, "fp32").encode(texts))
    if fp32["min_cosine"] < cfg.min_cosine:
        raise PipelineError(
            f"ONNX parity failed: min cosine {fp32['min_cosine']:.6f} < onnx.min_cosine {cfg.min_cosine} on "
            f"{len(texts)} texts{' (try without fp32 in onnx.fuse)' if 'fp32' in cfg.fuse else ''}"
        )
    int8_vectors = OnnxEncoder(graphs, "int8").encode(texts)
    int8, p10 = check_int8(reference, int8_vectors, labels, cfg, ("torch", "int8"), "change onnx.quantize")
    return {
        "fp32_min_cosine": round(fp32["min_cosine"], 7),
        "fp32_mean_cosine": round(fp32["mean_cosine"], 7),
        "int8_min_cosine": round(int8["min_cosine"], 5),
        "int8_mean_cosine": round(int8["mean_cosine"], 5),
        "torch_p@10": p10["torch"],
        "int8_p@10": p10["int8"],
        "parity_texts": len(texts),
    }


def check_adapted(
    stored: dict[str, np.ndarray], served: Path, model: SentenceTransformer, texts: list[str], cfg: OnnxConfig
) -> dict:
    """Each served graph against `stored[variant]` (the adapter applied to its exported graph's output, which is
    what the stored vectors are), and the sentence-transformers `model` against the served fp32 graph."""
    served_vectors = {variant: OnnxEncoder(served, variant).encode(texts) for variant in MODEL_FILES}
    report = {f"{variant}_vs_stored": cosines(stored[variant], served_vectors[variant]) for variant in MODEL_FILES}
    report["torch_vs_fp32"] = cosines(torch_vectors(model, texts), served_vectors["fp32"])
    report["int8_vs_fp32"] = cosines(served_vectors["fp32"], served_vectors["int8"])
    for name in ("fp32_vs_stored", "int8_vs_stored", "torch_vs_fp32"):
        if report[name]["min_cosine"] < cfg.min_cosine:
            raise PipelineError(
                f"adapter parity failed: {name} min cosine {report[name]['min_cosine']:.6f} < onnx.min_cosine "
                f"{cfg.min_cosine} on {len(texts)} texts"
            )
    return {name: {k: round(v, 6) for k, v in found.items()} for name, found in report.items()}
