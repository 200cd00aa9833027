"""The manifest: what a bundle is, as one typed record that the manifest stage writes and every reader parses.

models/manifest.json (the manifest stage) describes the served files under `models/`; a bundle's manifest.json
is the same record plus the run's provenance and its test metrics (the bundle stage). `load_bundle`, `/ready`,
the evaluate stage and the benchmarks read it through `Manifest.read`, never by string keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from arxiv_embed.atomic import write_json
from arxiv_embed.classify.classifier import HybridSpec
from arxiv_embed.encode.parity_report import ParityReport
from arxiv_embed.recommend.spec import RecommendSpec
from arxiv_embed.search.modes import SearchSpec


class HarvestContents(BaseModel):
    """What the served index holds beyond the base: the harvested shards and who embedded them."""

    shards: int
    removed: int  # positions left out of search: withdrawn papers and replaced versions
    encoder: str | None  # sha256 of the graph that embedded the shards; None before any harvest
    last_days: list[str] | None = None  # the first and the newest day of the last harvest's records


class Manifest(BaseModel):
    """The served files under one folder, their content hashes, and what they were built with."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    version: str  # the first 12 hex digits of the hash of `files`
    model_name: str
    dim: int
    normalized: bool
    text_field: str
    max_seq_length: int
    onnx_variant: str  # the ONNX graph that encoded the corpus, and so queries by default
    index_type: str
    index: dict[str, Any]  # the vector index's config
    index_size: int
    corpus_size: int  # papers that search can return: the index less the withdrawn and replaced
    newest_datestamp: str | None  # of the newest harvested paper; None before any harvest
    harvest: HarvestContents
    search: SearchSpec  # chosen on val: default mode, fusion, val P@10 per mode
    recommend: RecommendSpec  # chosen on val: the method, its settings and val P@10 per method
    classifier: HybridSpec  # the blend chosen on val, and what each side learned from
    onnx: ParityReport  # the served graphs' parity: the export stage's report and the adapter stage's
    versions: dict[str, str]  # of the libraries whose numerics the files depend on
    files: dict[str, str]  # bundle-relative name -> sha256

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.model_validate_json(path.read_text())

    def write(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json", by_alias=True))

    @property
    def int8_ok(self) -> bool:
        """Whether the int8 graph passed its parity bars (export and, after an adapter, against fp32)."""
        return self.onnx.int8_ok


class BundleManifest(Manifest):
    """A bundle's manifest: the files' manifest, the run that built them and their test metrics."""

    provenance: dict[str, Any] | None = None  # git commit and experiment; absent from models/manifest.json
    metrics: dict[str, Any] | None = None  # the headline test metrics of metrics/evaluate.json
