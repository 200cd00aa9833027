"""Export a sentence-transformers model to ONNX with pooling and normalisation inside the graph."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from pydantic import Field
from sentence_transformers import SentenceTransformer

from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, MODEL_FILES, TOKENIZER_FILE, OnnxEncoder
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section

log = logging.getLogger(__name__)

Cosine = Annotated[float, Field(gt=0, le=1)]


@params_section
class OnnxConfig:
    """The `onnx` section: the export opset and the parity bars the exported graphs must pass."""

    opset: Count
    parity_texts: Count  # validation texts compared with torch
    min_cosine: Cosine  # fp32: the export fails below this minimum cosine to torch
    int8_min_mean_cosine: Cosine  # int8: served only at or above this mean cosine


class _PooledEncoder(torch.nn.Module):
    """Transformer -> mean or CLS pooling -> L2 normalisation, as one traceable module."""

    def __init__(self, transformer: torch.nn.Module, pooling: str) -> None:
        super().__init__()
        self.transformer = transformer
        self.pooling = pooling

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def _pooling_mode(model: SentenceTransformer) -> str:
    for module in model:
        mode = getattr(module, "pooling_mode", None)
        if mode is None:
            continue
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
        if modes not in (("mean",), ("cls",)):
            raise PipelineError(f"ONNX export supports mean or cls pooling, not {mode!r}")
        return modes[0]
    return "mean"


def export_onnx(model: SentenceTransformer, folder: Path, opset: int, text_field: str, model_name: str) -> None:
    """Write model.onnx, tokenizer.json and encoder_config.json into `folder`."""
    model = model.to("cpu").eval()
    transformer = model[0].auto_model
    wrapper = _PooledEncoder(transformer, _pooling_mode(model)).eval()
    tok = model.tokenizer
    sample = tok(["a short example", "a longer example sentence for tracing"], padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample.get("token_type_ids"))
    if args[2] is None:
        args = (args[0], args[1], torch.zeros_like(args[0]))
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            args,
            str(folder / MODEL_FILES["fp32"]),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "sentence_embedding": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,
            external_data=False,
        )
    tok.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
    config = {
        "model_name": model_name,
        "dim": int(model.get_embedding_dimension()),
        "max_seq_length": int(model.max_seq_length),
        "pooling": wrapper.pooling,
        "normalized": True,
        "text_field": text_field,
        "pad_token_id": int(tok.pad_token_id or 0),
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")


def quantize_int8(folder: Path) -> None:
    """Dynamic int8 quantization of MatMul weights, per channel (the variant that keeps cosine high)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(folder / MODEL_FILES["fp32"]),
        str(folder / MODEL_FILES["int8"]),
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        weight_type=QuantType.QInt8,
    )


def append_adapter(source: Path, target: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """Copy an encoder graph with normalize(x @ weight.T + bias) after its output, in fp32 (also in int8 graphs:
    the adapter is small, and fp32 keeps queries bit-compatible with the stored vectors it was applied to)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    output = graph.output[0]
    inner = f"{output.name}_before_adapter"
    for node in graph.node:
        node.output[:] = [inner if name == output.name else name for name in node.output]
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.ascontiguousarray(weight.T, dtype=np.float32), "adapter_weight"),
            numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "adapter_bias"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("MatMul", [inner, "adapter_weight"], ["adapter_projected"], name="adapter_matmul"),
            helper.make_node("Add", ["adapter_projected", "adapter_bias"], ["adapter_shifted"], name="adapter_add"),
            helper.make_node("LpNormalization", ["adapter_shifted"], [output.name], axis=1, p=2, name="adapter_norm"),
        ]
    )
    output.type.tensor_type.shape.dim[1].dim_value = int(weight.shape[0])
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def cosines(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Min and mean cosine between rows of two sets of unit vectors."""
    values = np.sum(reference * candidate, axis=1)
    return {"min_cosine": float(values.min()), "mean_cosine": float(values.mean())}


def parity(model: SentenceTransformer, folder: Path, texts: list[str], variant: str) -> dict[str, float]:
    """Cosine between torch and ONNX embeddings of the same texts (both are unit vectors)."""
    reference = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    return cosines(reference, OnnxEncoder(folder, variant).encode(texts))
