"""The torch device a stage runs on: one rule for every `*.device` param (`auto`, `cpu` or `cuda`)."""

from __future__ import annotations

import logging

from arxiv_embed.errors import PipelineError

log = logging.getLogger(__name__)


def resolve_device(requested: str, key: str) -> str:
    """`auto` takes CUDA when torch sees a GPU, else the CPU, and logs which; `cuda` without a GPU stops in one
    line naming the param `key`, since a silent fallback would turn a GPU run into one many times slower.
    `cpu` never imports torch, so CPU-only paths stay light."""
    if requested == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        device = "cuda"
    elif requested == "cuda":
        raise PipelineError(
            f"{key} is cuda but torch sees no GPU (torch {torch.__version__}; the CUDA build comes with "
            f"`make setup-gpu`): use -S {key}=cpu or auto"
        )
    else:
        device = "cpu"
    if requested == "auto":
        log.info("%s: auto took %s%s", key, device, f" ({torch.cuda.get_device_name()})" if device == "cuda" else "")
    return device
