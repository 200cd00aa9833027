"""The served graphs: the exported encoder's graphs with the adapter appended, and a sentence-transformers copy.

Written into the adapter stage's folder (`AdapterFolder`) and checked against the stored vectors before the
stage finishes (`parity.check_adapted`). Without an adapter the exported graphs and encoder pass through as they
are; the parity report of the export stage then only gains `int8_ok`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, MODEL_FILES, PARITY_FILE, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig, append_adapter
from arxiv_embed.encode.parity import check_adapted
from arxiv_embed.layout import AdapterFolder
from arxiv_embed.train.adapter import ADAPTER_FILE, Adapter, LinearAdapter, adapted_sentence_model
from arxiv_embed.train.models import load_trained_encoder


def update_json(path: Path, **fields) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}, indent=2) + "\n")


def append_to_models(
    out: AdapterFolder, adapter: LinearAdapter, exported: Path, encoder: Path, texts: list[str], cfg: OnnxConfig
) -> dict:
    """The adapter appended to both exported graphs and to a sentence-transformers copy of `encoder`, checked."""
    adapter.save(out.root / ADAPTER_FILE)
    for name in MODEL_FILES.values():
        append_adapter(exported / name, out.served_onnx / name, adapter.weight, adapter.bias)
    update_json(out.served_onnx / CONFIG_FILE, dim=adapter.dim, adapter=True)
    model = adapted_sentence_model(load_trained_encoder(encoder, "cpu"), adapter)
    model.save_pretrained(str(out.sentence_model))
    stored = {variant: adapter.apply(OnnxEncoder(exported, variant).encode(texts)) for variant in MODEL_FILES}
    return check_adapted(stored, out.served_onnx, load_trained_encoder(out.sentence_model, "cpu"), texts, cfg)


def write_served_models(
    out: AdapterFolder, adapter: Adapter, exported: Path, encoder: Path, texts: list[str], cfg: OnnxConfig
) -> dict:
    """The served graphs and the sentence-transformers folder in `out`; returns the adapter's parity report."""
    shutil.copytree(exported, out.served_onnx)
    if isinstance(adapter, LinearAdapter):
        parity = append_to_models(out, adapter, exported, encoder, texts, cfg)
    else:  # nothing to append: the exported graphs and the encoder serve as they are
        shutil.copytree(encoder, out.sentence_model)
        parity = {}
    # export_onnx has held int8 to its bars against torch; after an adapter it must also stay close to fp32
    int8_ok = not parity or parity["int8_vs_fp32"]["mean_cosine"] >= cfg.int8_min_mean_cosine
    update_json(out.served_onnx / PARITY_FILE, int8_ok=int8_ok, adapter=parity)
    return parity
