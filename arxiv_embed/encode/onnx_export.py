"""Export a sentence-transformers model to ONNX with pooling and normalisation inside the graph.

The transformer is traced with eager attention (the plain MatMul-Softmax-MatMul pattern), which ONNX Runtime's
transformer optimizer fuses into its Attention, SkipLayerNormalization and BiasGelu kernels. `onnx.fuse` names the
graphs built from the fused graph: int8 gains most, since its quantized Attention (QAttention) runs the attention
in int8; the int8 graph is quantized with the settings in `onnx.quantize`. What the optimizer may fuse and what
int8 must leave in fp32 depend on the architecture, read from the model's own config (`ARCHITECTURES`); the
graph's inputs are those the tokenizer and the model both know (BERT takes token_type_ids, MPNet does not).
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field
from sentence_transformers import SentenceTransformer

from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, ENCODER_INPUTS, MODEL_FILES, TOKENIZER_FILE
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


@dataclass(frozen=True)
class Architecture:
    """How the export treats one transformer architecture (a model config's `model_type`)."""

    optimizer: str | None  # the transformer optimizer's model_type whose fusions apply; None: exported unfused
    keep_fp32: tuple[str, ...] = ()  # regexes of MatMul node names that int8 quantization leaves in fp32


ARCHITECTURES = {
    "bert": Architecture("bert"),
    # MPNet: BERT's layer norm and GELU fusions apply (its relative position bias keeps attention unfused). The
    # feed-forward output projections read GELU outputs with outliers that per-batch int8 activations cannot hold:
    # quantized, the mean cosine to torch on arXiv abstracts is 0.90; kept in fp32, 0.994.
    "mpnet": Architecture("bert", keep_fp32=(r"/output/dense/MatMul$",)),
}
UNKNOWN_ARCHITECTURE = Architecture(None)


def architecture(model: SentenceTransformer) -> Architecture:
    """The export's treatment of `model`, from its config; an architecture not in ARCHITECTURES goes unfused."""
    model_type = model[0].auto_model.config.model_type
    found = ARCHITECTURES.get(model_type)
    if found is None:
        log.warning(
            "no graph fusions are known for model_type %r (known: %s): exporting it unfused",
            model_type,
            ", ".join(ARCHITECTURES),
        )
        return UNKNOWN_ARCHITECTURE
    return found


class _PooledEncoder(torch.nn.Module):
    """Transformer -> mean or CLS pooling -> L2 normalisation, as one traceable module taking `input_names`."""

    def __init__(self, transformer: torch.nn.Module, pooling: str, input_names: tuple[str, ...]) -> None:
        super().__init__()
        self.transformer = transformer
        self.pooling = pooling
        self.input_names = input_names

    def forward(self, *inputs):
        features = dict(zip(self.input_names, inputs, strict=True))
        hidden = self.transformer(**features).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def _input_names(transformer: torch.nn.Module, tokenizer) -> tuple[str, ...]:
    """The inputs the graph declares: those the tokenizer produces and the model's forward takes (MPNet has no
    token_type_ids), in a fixed order."""
    accepted = set(inspect.signature(transformer.forward).parameters)
    names = tuple(n for n in ENCODER_INPUTS if n in tokenizer.model_input_names and n in accepted)
    if names[:2] != ("input_ids", "attention_mask"):
        raise PipelineError(f"ONNX export needs input_ids and attention_mask; this model's tokenizer gives {names}")
    return names


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
    tok = model.tokenizer
    names = _input_names(transformer, tok)
    wrapper = _PooledEncoder(transformer, _pooling_mode(model), names).eval()
    sample = tok(["a short example", "a longer example sentence for tracing"], padding=True, return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            tuple(sample[name] for name in names),
            str(folder / MODEL_FILES["fp32"]),
            input_names=list(names),
            output_names=["sentence_embedding"],
            dynamic_axes={**dict.fromkeys(names, axes), "sentence_embedding": {0: "batch"}},
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
    """Write `source` with the transformer optimizer's fusions for `model`'s architecture to `target`; return how
    many of each fused op it has.

    Only the optimizer's own fusions are applied (opt_level 0): they are portable, while onnxruntime's
    session-level rewrites, which may be specific to the CPU, happen when a session loads the graph.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    config = model[0].auto_model.config
    model_type = architecture(model).optimizer
    if model_type is None:
        raise PipelineError(f"no graph fusions are known for model_type {config.model_type!r}: leave onnx.fuse empty")
    optimized = optimize_model(
        str(source),
        model_type=model_type,
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=0,
    )
    optimized.save_model_to_file(str(target))
    fused = {op: count for op, count in optimized.get_fused_operator_statistics().items() if count}
    log.info("transformer optimizer fused %s", fused or "nothing")
    return fused


def _matching_nodes(graph: Path, patterns: tuple[str, ...]) -> list[str]:
    """Names of the MatMul nodes of `graph` that match any of `patterns`."""
    import onnx

    if not patterns:
        return []
    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    return [n.name for n in nodes if n.op_type == "MatMul" and any(re.search(p, n.name) for p in patterns)]


def quantize_int8(source: Path, target: Path, cfg: QuantizeConfig, keep_fp32: tuple[str, ...] = ()) -> None:
    """Dynamic int8 quantization of an fp32 graph's weights (activations are quantized per batch at run time),
    except the MatMul nodes whose names match `keep_fp32`."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    excluded = _matching_nodes(source, keep_fp32)
    if excluded:
        log.info("int8 leaves %d MatMul nodes in fp32 (%s)", len(excluded), ", ".join(keep_fp32))

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
            nodes_to_exclude=excluded,
            # the fused ops come from onnxruntime's contrib domain, which ONNX shape inference cannot type
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def build_graphs(folder: Path, model: SentenceTransformer, fuse: list[str], quantize: QuantizeConfig) -> dict[str, int]:
    """After `export_onnx`: model.onnx fused if `fuse` names fp32, and model_int8.onnx quantized from the fused
    graph if it names int8 (else from the traced one); returns the fused graph's op counts ({} if none)."""
    traced, int8 = folder / MODEL_FILES["fp32"], folder / MODEL_FILES["int8"]
    arch = architecture(model)
    if not fuse or arch.optimizer is None:
        quantize_int8(traced, int8, quantize, arch.keep_fp32)
        return {}
    fused_path = folder / "model_fused.onnx"
    fused = optimize_graph(traced, fused_path, model)
    quantize_int8(fused_path if "int8" in fuse else traced, int8, quantize, arch.keep_fp32)
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
