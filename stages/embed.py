"""Stage embed: L2-normalised float32 vectors of the whole corpus, and of each split for the classifier.

`embed.engine`: `local` (this process) or `ray` (Ray Data actor pool, local or on a cluster via RAY_ADDRESS).
On CPUs the corpus is encoded with the served ONNX graph (`embed.onnx_variant`), on GPUs with torch in bf16.
"""

import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.bundle import PARITY_FILE
from arxiv_embed.data.subsample import SPLITS
from arxiv_embed.encode.corpus_encoder import EncoderSpec, resolve_device
from arxiv_embed.encode.embedding import embed_local
from arxiv_embed.encode.onnx_encoder import MODEL_FILES
from arxiv_embed.encode.ray_engine import RayConfig, embed_ray
from arxiv_embed.encode.vectors import save_vectors, select_vectors
from arxiv_embed.errors import ParamError, PipelineError
from arxiv_embed.layout import CORPUS_DIR, CORPUS_VECTORS_DIR, EMBEDDINGS_DIR, ENCODER_DIR, ONNX_DIR, split_path
from arxiv_embed.params import section
from arxiv_embed.stage import run_stage

ENGINES = ("local", "ray")


def main(params: dict) -> dict:
    cfg, field = params["embed"], params["text"]["field"]
    if cfg["engine"] not in ENGINES:
        raise ParamError(f"unknown embed.engine {cfg['engine']!r}; expected one of {', '.join(ENGINES)}")
    if cfg["onnx_variant"] not in MODEL_FILES:
        raise ParamError(
            f"unknown embed.onnx_variant {cfg['onnx_variant']!r}; expected one of {', '.join(MODEL_FILES)}"
        )
    spec = EncoderSpec(
        onnx_dir=str(ONNX_DIR),
        torch_dir=str(ENCODER_DIR),
        variant=cfg["onnx_variant"],
        device="cpu",
        batch_size=cfg["batch_size"],
    )
    parity = json.loads((ONNX_DIR / PARITY_FILE).read_text())
    if spec.variant == "int8" and not parity["int8_ok"]:
        raise PipelineError(
            "the int8 ONNX model failed its parity bar (metrics/onnx.json); use -S embed.onnx_variant=fp32"
        )
    ray_cfg = section(cfg, "ray", RayConfig)
    spec = ray_cfg.actor_spec(spec) if cfg["engine"] == "ray" else replace(spec, device=resolve_device(cfg["device"]))
    start = time.perf_counter()
    with atomic_path(EMBEDDINGS_DIR, is_dir=True) as tmp:
        out = tmp / CORPUS_VECTORS_DIR.name
        out.mkdir()
        if cfg["engine"] == "ray":
            papers = embed_ray(spec, CORPUS_DIR, out, field, cfg["batch_rows"], ray_cfg)
        else:
            papers = embed_local(spec, CORPUS_DIR, out, field, cfg["batch_rows"])
        seconds = time.perf_counter() - start
        split_ids = {s: pd.read_parquet(split_path(s), columns=["id"])["id"].to_numpy() for s in SPLITS}
        vectors = select_vectors(out, np.concatenate(list(split_ids.values())))  # one pass over the corpus
        for split, ids in split_ids.items():
            save_vectors(tmp / f"{split}.npz", ids.tolist(), vectors[: len(ids)])
            vectors = vectors[len(ids) :]
    return {
        "engine": cfg["engine"],
        "encoder": spec.name,
        "corpus_vectors": papers,
        "embed_seconds": round(seconds, 2),
        "papers_per_second": round(papers / seconds, 1),
    }


if __name__ == "__main__":
    run_stage("embed", main)
