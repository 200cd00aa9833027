"""Reading params.yaml, the file DVC composes from configs/ and hashes per stage."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from arxiv_embed.errors import PipelineError

T = TypeVar("T")
PARAMS_FILE = Path("params.yaml")


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    if not path.is_file():
        raise PipelineError(f"{path} not found: run stages from the repository root (dvc repro does)")
    return yaml.safe_load(path.read_text())


def section(params: dict[str, Any], name: str, cls: type[T]) -> T:
    """Build a config dataclass from one params section, naming any key that is missing."""
    values = params.get(name) or {}
    missing = [f.name for f in fields(cls) if f.name not in values]
    if missing:
        raise PipelineError(f"params.yaml section {name!r} lacks {', '.join(missing)}")
    return cls(**{f.name: values[f.name] for f in fields(cls)})
