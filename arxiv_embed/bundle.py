"""The served bundle: ONNX encoder, classifier, FAISS and lexical indexes and papers, tied together by a manifest.

The pipeline's `manifest` stage writes models/manifest.json (content hashes, dimension, sizes) over the stages'
outs, which the evaluate stage loads; the `bundle` stage copies exactly those files into models/bundle with the
manifest, the run's provenance and its test metrics: the one folder that the artifact `arxiv-embed` names, GTO
versions and the server loads. Both load through `load_bundle`, which refuses anything inconsistent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arxiv_embed.atomic import atomic_path, write_json
from arxiv_embed.classify.classifier import CLASSIFIER_FILE, HYBRID_FILE, TEXT_CLASSIFIER_FILE, HybridClassifier
from arxiv_embed.classify.tfidf import IDF_FILE, TERMS_FILE
from arxiv_embed.encode.onnx_encoder import (
    CONFIG_FILE,
    DEFAULT_MAX_TOKENS,
    MODEL_FILES,
    PARITY_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
)
from arxiv_embed.errors import PipelineError
from arxiv_embed.hashing import sha256
from arxiv_embed.search.index import CONTENTS_FILE, INDEX_CONFIG_FILE, INDEX_FILE, RERANK_FILE, VectorIndex
from arxiv_embed.search.lexical import LEXICAL_FILES
from arxiv_embed.search.modes import SEARCH_FILE, SEARCH_MODES, Searcher, load_searcher
from arxiv_embed.search.papers import PAPERS_FILE, REMOVED_FILE, PaperStore
from arxiv_embed.versions import library_versions

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
RELEASE_FILE = "release.json"  # written beside a fetched bundle: the registry version and stage it was fetched as
ONNX_DIR = "adapter/onnx"  # the served graphs: the encoder with the adapter appended
# The served index is the live one (the base plus the harvested shards); lexical/ holds the chosen search mode.
CLASSIFIER_DIR, INDEX_DIR, LEXICAL_DIR = "classifier", "live_index", "lexical"
BUNDLE_FILES = [
    f"{ONNX_DIR}/{MODEL_FILES['fp32']}",
    f"{ONNX_DIR}/{MODEL_FILES['int8']}",
    f"{ONNX_DIR}/{TOKENIZER_FILE}",
    f"{ONNX_DIR}/{CONFIG_FILE}",
    f"{CLASSIFIER_DIR}/{CLASSIFIER_FILE}",
    f"{CLASSIFIER_DIR}/{TEXT_CLASSIFIER_FILE}",
    f"{CLASSIFIER_DIR}/{TERMS_FILE}",
    f"{CLASSIFIER_DIR}/{IDF_FILE}",
    f"{CLASSIFIER_DIR}/{HYBRID_FILE}",
    f"{INDEX_DIR}/{INDEX_FILE}",
    f"{INDEX_DIR}/{INDEX_CONFIG_FILE}",
    f"{INDEX_DIR}/{PAPERS_FILE}",
    f"{INDEX_DIR}/{REMOVED_FILE}",
    f"{INDEX_DIR}/{CONTENTS_FILE}",
    *(f"{INDEX_DIR}/{name}" for name in LEXICAL_FILES),
    f"{LEXICAL_DIR}/{SEARCH_FILE}",
]
OPTIONAL_FILES = [f"{INDEX_DIR}/{RERANK_FILE}"]


class BundleError(PipelineError):
    """The artifacts are missing or do not belong together; the server must not start."""


def make_manifest(models_dir: Path, onnx_variant: str) -> dict[str, Any]:
    """Describe the bundle under `models_dir`: what it is, how big, its ONNX parity, and the hash of every file.

    `onnx_variant` is the ONNX model that encoded the corpus; queries are encoded with it too unless told otherwise.
    """
    missing = [f for f in [*BUNDLE_FILES, f"{ONNX_DIR}/{PARITY_FILE}"] if not (models_dir / f).is_file()]
    if missing:
        raise BundleError(f"cannot write the manifest: missing {', '.join(missing)}")
    encoder_config = json.loads((models_dir / ONNX_DIR / CONFIG_FILE).read_text())
    index_config = json.loads((models_dir / INDEX_DIR / INDEX_CONFIG_FILE).read_text())
    papers = PaperStore(models_dir / INDEX_DIR / PAPERS_FILE)
    search = json.loads((models_dir / LEXICAL_DIR / SEARCH_FILE).read_text())
    contents = json.loads((models_dir / INDEX_DIR / CONTENTS_FILE).read_text())
    files = [*BUNDLE_FILES, *(f for f in OPTIONAL_FILES if (models_dir / f).is_file())]
    hashes = {f: sha256(models_dir / f) for f in files}
    served_graph = hashes[f"{ONNX_DIR}/{MODEL_FILES[onnx_variant]}"]
    if contents["encoder"] not in (None, served_graph):
        raise BundleError(
            f"the harvested shards in {INDEX_DIR} were embedded by another encoder than the served one: run dvc repro"
        )
    return {
        "version": hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:12],
        "model_name": encoder_config["model_name"],
        "dim": encoder_config["dim"],
        "normalized": encoder_config["normalized"],
        "text_field": encoder_config["text_field"],
        "max_seq_length": encoder_config["max_seq_length"],
        "onnx_variant": onnx_variant,
        "index_type": index_config["type"],
        "index": index_config,
        "index_size": len(papers),
        "corpus_size": papers.live,  # papers that search can return: the index less the withdrawn and replaced
        "newest_datestamp": papers.newest_datestamp,  # of the newest harvested paper; None before any harvest
        "harvest": {"shards": len(contents["shards"]), "removed": contents["removed"], "encoder": contents["encoder"]},
        "search": search,
        "onnx": json.loads((models_dir / ONNX_DIR / PARITY_FILE).read_text()),
        "versions": library_versions(),
        "files": hashes,
    }


def assemble_bundle(models_dir: Path, manifest: dict[str, Any], extra: dict[str, Any], target: Path) -> dict[str, Any]:
    """Copy the files `manifest` lists from `models_dir` into `target`, with the manifest plus `extra`.

    Copies, not links: a stage that rewrites its out in place must not change a bundle already released. A file
    whose hash no longer matches stops it, and `target` is replaced only once it is whole.
    """
    with atomic_path(target, is_dir=True) as tmp:
        for name, digest in manifest["files"].items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(models_dir / name, tmp / name)
            if sha256(tmp / name) != digest:
                raise BundleError(f"{models_dir / name} changed after the manifest was written: run dvc repro")
        bundled = {**manifest, **extra}
        write_json(tmp / MANIFEST_FILE, bundled)
    return bundled


@dataclass
class Bundle:
    """Everything the server answers from, loaded and cross-checked."""

    manifest: dict[str, Any]
    release: dict[str, Any] | None  # the registry version and stage, for a bundle fetched from the registry
    encoder: OnnxEncoder
    classifier: HybridClassifier
    index: VectorIndex
    papers: PaperStore
    searcher: Searcher  # every search mode over `index` and the lexical postings


def load_bundle(
    models_dir: str | os.PathLike,
    variant: str | None = None,
    threads: int = 0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Bundle:
    """Load and verify the bundle; raise BundleError naming the first problem found.

    `variant` None encodes queries with the ONNX model that encoded the corpus (the manifest's `onnx_variant`).
    """
    models_dir = Path(models_dir)
    manifest_path = models_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BundleError(f"{manifest_path} not found: run `dvc repro` (or `dvc pull`) to build the artifacts")
    manifest = json.loads(manifest_path.read_text())
    for name, expected in manifest["files"].items():
        path = models_dir / name
        if not path.is_file():
            raise BundleError(f"{path} is missing (listed in {manifest_path})")
        if sha256(path) != expected:
            raise BundleError(f"{path} does not match the manifest's hash: artifacts are from different runs")
    harvested_with = manifest["harvest"]["encoder"]
    if harvested_with not in (None, manifest["files"][f"{ONNX_DIR}/{MODEL_FILES[manifest['onnx_variant']]}"]):
        raise BundleError(f"the harvested papers of {INDEX_DIR} were embedded by another encoder: run dvc repro")
    variant = variant or manifest["onnx_variant"]
    if variant not in MODEL_FILES:
        raise BundleError(f"unknown ONNX variant {variant!r}; expected one of {', '.join(MODEL_FILES)}")
    if variant == "int8" and not manifest["onnx"].get("int8_ok", False):
        raise BundleError("the int8 model failed its parity bar in the export stage; serve fp32 instead")

    encoder = OnnxEncoder(models_dir / ONNX_DIR, variant, threads, max_tokens)
    classifier = HybridClassifier.load(models_dir / CLASSIFIER_DIR)
    index = VectorIndex(models_dir / INDEX_DIR)
    papers = PaperStore(models_dir / INDEX_DIR / PAPERS_FILE)
    searcher = load_searcher(models_dir / LEXICAL_DIR, models_dir / INDEX_DIR, index, classifier.features)
    dim = manifest["dim"]
    checks = {
        "encoder dimension": (encoder.dim, dim),
        "classifier dimension": (classifier.embedding.coef.shape[1], dim),
        "TF-IDF classifier features": (classifier.text.coef.shape[1], classifier.features.size),
        "index dimension": (index.d, dim),
        "index size": (index.ntotal, manifest["index_size"]),
        "papers table size": (len(papers), manifest["index_size"]),
        "lexical index terms": (searcher.lexical.n_terms, classifier.features.size),
    }
    if searcher.default_mode not in SEARCH_MODES:
        raise BundleError(f"unknown default search mode {searcher.default_mode!r} in {LEXICAL_DIR}/{SEARCH_FILE}")
    for what, (found, expected) in checks.items():
        if found != expected:
            raise BundleError(f"{what} is {found} but the manifest says {expected}")
    release_path = models_dir / RELEASE_FILE
    release = json.loads(release_path.read_text()) if release_path.is_file() else None
    log.info("loaded bundle: %s, %d papers, %s encoder", manifest["model_name"], index.ntotal, variant)
    return Bundle(manifest, release, encoder, classifier, index, papers, searcher)
