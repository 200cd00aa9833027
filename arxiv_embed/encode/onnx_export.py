"""Export a sentence-transformers model to ONNX with pooling and normalisation inside the graph.

The transformer is traced with eager attention (the plain MatMul-Softmax-MatMul pattern), which ONNX Runtime's
transformer optimizer fuses into its Attention, SkipLayerNormalization and BiasGelu kernels. `onnx.fuse` names the
graphs built from the fused graph: int8 gains most, since its quantized Attention (QAttention) runs the attention
in int8; the int8 graph is quantized with the settings in `onnx.quantize`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field
from sentence_transformers import SentenceTransformer

from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, MODEL_FILES, TOKENIZER_FILE
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section

log = logging.getLogger(__name__)

Cosine = Annotated[float, Field(gt=0, le=1)]


QuantizedOp = Literal["MatMul", "Attention", "Gather", "EmbedLayerNormalization"]


@params_section
class QuantizeConfig:
    """Dynamic int8 quantization: which ops get int8 weights, per output channel or per tensor."""

    op_types: list[QuantizedOp]
    per_channel: bool  # one scale per output channel: per tensor costs ~0.03 of mean cosine on MiniLM
    reduce_range: bool  # 7-bit weights, for CPUs without VNNI that would overflow in u8 x s8 sums


@params_section
class OnnxConfig:
    """The `onnx` section: the export opset, the graph optimizer, quantization and the parity bars."""

    opset: Count
    fuse: list[Literal["fp32", "int8"]]  # graphs built from the transformer optimizer's fused graph
    quantize: QuantizeConfig
    parity_texts: Count  # validation texts compared with torch
    min_cosine: Cosine  # fp32: the export fails below this minimum cosine to torch
    int8_min_mean_cosine: Cosine  # int8: the export fails below this mean cosine to torch
    max_p10_drop: Annotated[float, Field(ge=0, le=1)]  # int8: the export fails if P@10 drops by more


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
    transformer.set_attn_implementation("eager")  # the pattern the transformer optimizer fuses
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


def optimize_graph(source: Path, target: Path, model: SentenceTransformer) -> dict[str, int]:
    """Write `source` with ONNX Runtime's BERT fusions to `target`; return how many of each fused op it has.

    Only the optimizer's own fusions are applied (opt_level 0): they are portable, while onnxruntime's
    session-level rewrites, which may be specific to the CPU, happen when a session loads the graph.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    config = model[0].auto_model.config
    optimized = optimize_model(
        str(source),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=0,
    )
    optimized.save_model_to_file(str(target))
    fused = {op: count for op, count in optimized.get_fused_operator_statistics().items() if count}
    log.info("transformer optimizer fused %s", fused or "nothing")
    return fused


def quantize_int8(source: Path, target: Path, cfg: QuantizeConfig) -> None:
    """Dynamic int8 quantization of an fp32 graph's weights (activations are quantized per batch at run time)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # the quantizer logs each tensor at INFO on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=list(cfg.op_types),
            per_channel=cfg.per_channel,
            reduce_range=cfg.reduce_range,
            weight_type=QuantType.QInt8,
            # the fused ops come from onnxruntime's contrib domain, which ONNX shape inference cannot type
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def build_graphs(folder: Path, model: SentenceTransformer, fuse: list[str], quantize: QuantizeConfig) -> dict[str, int]:
    """After `export_onnx`: model.onnx fused if `fuse` names fp32, and model_int8.onnx quantized from the fused
    graph if it names int8 (else from the traced one); returns the fused graph's op counts ({} if none)."""
    traced, int8 = folder / MODEL_FILES["fp32"], folder / MODEL_FILES["int8"]
    if not fuse:
        quantize_int8(traced, int8, quantize)
        return {}
    fused_path = folder / "model_fused.onnx"
    fused = optimize_graph(traced, fused_path, model)
    quantize_int8(fused_path if "int8" in fuse else traced, int8, quantize)
    if "fp32" in fuse:
        fused_path.replace(traced)
    else:
        fused_path.unlink()
    return fused


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
