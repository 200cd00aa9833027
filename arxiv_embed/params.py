"""Reading params.yaml, the file DVC composes from configs/ and hashes per stage, into typed, checked sections.

Every section is a `params_section` dataclass: pydantic checks it when it is built, so an unknown key, a missing
key or a bad value stops a stage before it does any work, with one line that names the key, the value and what
is allowed. Each stage script declares the sections it reads as the fields of a dataclass named `Params`
(`tools/stage_deps.py` lists exactly those in dvc.yaml).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import yaml
from pydantic import AfterValidator, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

from arxiv_embed.errors import ParamError, PipelineError

T = TypeVar("T")
PARAMS_FILE = Path("params.yaml")

# A count of things (papers, steps, threads): zero or less is a mistake, not "all" (null says "all" where allowed).
Count = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, lt=1)]


def registry_key(registry: Mapping[str, object]) -> AfterValidator:
    """A str field that names an entry of a registry (a loss, a recommendation method); refused with the names."""

    def known(name: str) -> str:
        if name not in registry:
            raise ValueError(f"expected one of {', '.join(registry)}")
        return name

    return AfterValidator(known)


params_section = functools.partial(dataclass, frozen=True, config=ConfigDict(extra="forbid"))
"""Decorator of a params section: frozen, unknown keys refused, every field checked against its type."""


def load_params(path: str | os.PathLike = PARAMS_FILE) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path} not found: run stages from the repository root (dvc repro does)")
    return yaml.safe_load(path.read_text())


def section(params: dict[str, Any], name: str, cls: type[T]) -> T:
    """Build one section's config from params.yaml's mapping, or raise ParamError in one line."""
    values = params.get(name)
    if not isinstance(values, dict):
        raise ParamError(f"params.yaml has no section {name!r}; expected keys {', '.join(f.name for f in fields(cls))}")
    try:
        return cls(**values)
    except ValidationError as err:
        raise ParamError(_describe(name, cls, err)) from None


def read_stage_params(params: dict[str, Any], schema: type[T]) -> T:
    """The sections a stage declares (the fields of its `Params` dataclass), each parsed by `section`."""
    hints = get_type_hints(schema)
    return schema(**{f.name: section(params, f.name, hints[f.name]) for f in fields(schema)})


def _describe(name: str, cls: type, err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join([name, *(str(part) for part in first["loc"])])
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    if first["type"] in ("missing", "missing_argument"):
        return f"params.yaml: {key} is missing{more}"
    if first["type"] == "unexpected_keyword_argument":
        known = f"; {name} takes {', '.join(f.name for f in fields(cls))}" if len(first["loc"]) == 1 else ""
        return f"params.yaml: unknown key {key}{known}{more}"
    return f"params.yaml: {key} = {first['input']!r}: {first['msg']}{more}"
