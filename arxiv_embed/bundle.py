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

from pydantic import ValidationError

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.classifier import CLASSIFIER_FILES, HybridClassifier, HybridSpec
from arxiv_embed.encode.onnx_encoder import (
    CONFIG_FILE,
    DEFAULT_MAX_TOKENS,
    MODEL_FILES,
    PARITY_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
)
from arxiv_embed.encode.parity_report import ParityReport
from arxiv_embed.encode.runtime_choice import CALIBRATION_FILE, RuntimeChoice, RuntimeChoices, choose_runtime
from arxiv_embed.encode.runtimes import (
    DEFAULT_RUNTIME,
    OPENVINO_INT8_FILES,
    UnreadableGraph,
    graph_folders,
    runtime_of,
)
from arxiv_embed.errors import PipelineError
from arxiv_embed.hashing import sha256
from arxiv_embed.layout import ModelFolders
from arxiv_embed.manifest import BundleManifest, HarvestContents, Manifest
from arxiv_embed.recommend.spec import RECOMMEND_FILE, RecommendSpec
from arxiv_embed.search.index import CONTENTS_FILE, INDEX_CONFIG_FILE, INDEX_FILE, RERANK_FILE, VectorIndex
from arxiv_embed.search.modes import SEARCH_FILE, SEARCH_MODES, Searcher, SearchSpec, load_searcher, search_files
from arxiv_embed.search.papers import PAPERS_FILE, REMOVED_FILE, PaperStore
from arxiv_embed.versions import library_versions

log = logging.getLogger(__name__)


class BundleError(PipelineError):
    """The artifacts are missing or do not belong together; the server must not start."""


@dataclass(frozen=True)
class LoadOptions:
    """How the server runs a bundle: `variant` None encodes queries with the graph that encoded the corpus;
    `runtime` "auto" runs the graph on the runtime chosen for this CPU (`runtime_choice`)."""

    variant: str | None = None
    threads: int = 0
    max_tokens: int = DEFAULT_MAX_TOKENS
    spinning: bool = True
    runtime: str = "auto"


def served_files(models: ModelFolders) -> list[Path]:
    """Every file a bundle carries, in the manifest's order; the search modes name their own artifacts."""
    return [
        *(models.served_onnx / name for name in (*MODEL_FILES.values(), TOKENIZER_FILE, CONFIG_FILE)),
        *(models.classifier / name for name in CLASSIFIER_FILES),
        *(models.served_index / name for name in (INDEX_FILE, INDEX_CONFIG_FILE, PAPERS_FILE, REMOVED_FILE)),
        models.served_index / CONTENTS_FILE,  # what the served index holds beyond the base
        *search_files(models),
        models.recommend / RECOMMEND_FILE,
    ]


def optional_files(models: ModelFolders) -> list[Path]:
    """Files a bundle carries when its pipeline made them: the rerank vectors, OpenVINO's int8 graph."""
    openvino = (*OPENVINO_INT8_FILES, RuntimeChoices.FILE, CALIBRATION_FILE)
    return [models.served_index / RERANK_FILE, *(models.openvino / name for name in openvino)]


def runtime_graphs(models: ModelFolders, variant: str) -> dict[str, Path]:
    """Where each runtime's graph of `variant` is."""
    return graph_folders(variant, models.served_onnx, {"openvino": models.openvino})


def served_runtime(models: ModelFolders, variant: str, options: LoadOptions) -> RuntimeChoice | None:
    """How the variant's graph is run: the runtime named in `options`, else the one chosen for this CPU; None for
    a bundle without a choice (onnxruntime runs both variants)."""
    choices = models.openvino / RuntimeChoices.FILE
    recorded = RuntimeChoices.load(models.openvino).variants.get(variant) if choices.is_file() else None
    if options.runtime != "auto":
        try:
            runtime_of(options.runtime)
        except ValueError as err:
            raise BundleError(str(err)) from None
        if options.runtime != DEFAULT_RUNTIME and recorded is None:
            raise BundleError(f"the runtime {options.runtime!r} needs export_openvino's output; this bundle lacks it")
        return recorded.model_copy(update={"chosen": options.runtime, "chosen_by": "setting"}) if recorded else None
    if recorded is None:
        return None
    encoder = {"threads": options.threads, "max_tokens": options.max_tokens}
    return choose_runtime(recorded, models.served_onnx, runtime_graphs(models, variant), models.openvino, **encoder)


def served_graph(manifest: Manifest, models: ModelFolders) -> str:
    """The hash of the graph that encoded the corpus, as the manifest lists it."""
    return manifest.files[models.name_of(models.served_onnx / MODEL_FILES[manifest.onnx_variant])]


def check_harvest_encoder(manifest: Manifest, models: ModelFolders) -> None:
    """Harvested shards must have been embedded by the graph that encoded the corpus."""
    if manifest.harvest.encoder not in (None, served_graph(manifest, models)):
        raise BundleError(
            f"the harvested shards in {models.name_of(models.served_index)} were embedded by another encoder than "
            "the served one: run dvc repro"
        )


def make_manifest(models: ModelFolders, onnx_variant: str) -> Manifest:
    """Describe the bundle under `models`: what it is, how big, its ONNX parity, and the hash of every file.

    `onnx_variant` is the ONNX model that encoded the corpus; queries are encoded with it too unless told otherwise.
    """
    required = [*served_files(models), models.served_onnx / PARITY_FILE]
    missing = [models.name_of(f) for f in required if not f.is_file()]
    if missing:
        raise BundleError(f"cannot write the manifest: missing {', '.join(missing)}")
    encoder_config = json.loads((models.served_onnx / CONFIG_FILE).read_text())
    index_config = json.loads((models.served_index / INDEX_CONFIG_FILE).read_text())
    papers = PaperStore(models.served_index / PAPERS_FILE)
    contents = json.loads((models.served_index / CONTENTS_FILE).read_text())
    files = [*served_files(models), *(f for f in optional_files(models) if f.is_file())]
    hashes = {models.name_of(f): sha256(f) for f in files}
    manifest = Manifest(
        version=hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:12],
        model_name=encoder_config["model_name"],
        dim=encoder_config["dim"],
        normalized=encoder_config["normalized"],
        text_field=encoder_config["text_field"],
        max_seq_length=encoder_config["max_seq_length"],
        onnx_variant=onnx_variant,
        index_type=index_config["type"],
        index=index_config,
        index_size=len(papers),
        corpus_size=papers.live,
        newest_datestamp=papers.newest_datestamp,
        harvest=HarvestContents(
            shards=len(contents["shards"]),
            removed=contents["removed"],
            encoder=contents["encoder"],
            last_days=contents.get("last_harvest_days"),
        ),
        search=SearchSpec.load(models.lexical),
        recommend=RecommendSpec.load(models.recommend),
        classifier=HybridSpec.load(models.classifier),
        onnx=ParityReport.load(models.served_onnx),
        versions=library_versions(),
        files=hashes,
    )
    check_harvest_encoder(manifest, models)
    return manifest


def assemble_bundle(models: ModelFolders, manifest: Manifest, extra: dict[str, Any], target: Path) -> BundleManifest:
    """Copy the files `manifest` lists from `models` into `target`, with the manifest plus `extra`.

    Copies, not links: a stage that rewrites its out in place must not change a bundle already released. A file
    whose hash no longer matches stops it, and `target` is replaced only once it is whole.
    """
    with atomic_path(target, is_dir=True) as tmp:
        for name, digest in manifest.files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(models.root / name, tmp / name)
            if sha256(tmp / name) != digest:
                raise BundleError(f"{models.root / name} changed after the manifest was written: run dvc repro")
        bundled = BundleManifest(**manifest.model_dump(), **extra)
        bundled.write(ModelFolders(tmp).manifest)
    return bundled


@dataclass
class Bundle:
    """Everything the server answers from, loaded and cross-checked."""

    manifest: BundleManifest
    release: dict[str, Any] | None  # the registry version and stage, for a bundle fetched from the registry
    encoder: OnnxEncoder
    classifier: HybridClassifier
    index: VectorIndex
    papers: PaperStore
    searcher: Searcher  # every search mode over `index` and the lexical postings
    recommend: RecommendSpec  # the method chosen on val for readers' libraries
    runtime: RuntimeChoice | None = None  # how the graph is run on this CPU; None: onnxruntime


def first_problem(err: ValidationError) -> str:
    """A validation error in one line: where, and what."""
    problem = err.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "the top level"
    return f"{where}: {problem['msg']}"


def read_verified_manifest(models: ModelFolders) -> BundleManifest:
    """The manifest, once every file it lists is there with its hash."""
    if not models.manifest.is_file():
        raise BundleError(f"{models.manifest} not found: run `dvc repro` (or `dvc pull`) to build the artifacts")
    try:
        manifest = BundleManifest.read(models.manifest)
    except ValidationError as err:
        raise BundleError(f"{models.manifest} is not a manifest: {first_problem(err)}") from None
    for name, expected in manifest.files.items():
        path = models.root / name
        if not path.is_file():
            raise BundleError(f"{path} is missing (listed in {models.manifest})")
        if sha256(path) != expected:
            raise BundleError(f"{path} does not match the manifest's hash: artifacts are from different runs")
    check_harvest_encoder(manifest, models)
    return manifest


def query_variant(manifest: Manifest, requested: str | None) -> str:
    """The ONNX graph that encodes queries: the requested one, or the one that encoded the corpus."""
    variant = requested or manifest.onnx_variant
    if variant not in MODEL_FILES:
        raise BundleError(f"unknown ONNX variant {variant!r}; expected one of {', '.join(MODEL_FILES)}")
    if variant == "int8" and not manifest.int8_ok:
        raise BundleError("the int8 model failed its parity bar in the export stage; serve fp32 instead")
    return variant


def check_sizes(bundle: Bundle, models: ModelFolders) -> None:
    """The loaded parts agree with each other and with the manifest, one invariant a line."""
    manifest, classifier, features = bundle.manifest, bundle.classifier, bundle.classifier.features
    checks = {
        "encoder dimension": (bundle.encoder.dim, manifest.dim),
        "classifier dimension": (classifier.embedding.coef.shape[1], manifest.dim),
        "TF-IDF classifier features": (classifier.text.coef.shape[1], features.size),
        "index dimension": (bundle.index.d, manifest.dim),
        "index size": (bundle.index.ntotal, manifest.index_size),
        "papers table size": (len(bundle.papers), manifest.index_size),
        "lexical index terms": (bundle.searcher.lexical.n_terms, features.size),
    }
    if bundle.searcher.default_mode not in SEARCH_MODES:
        raise BundleError(
            f"unknown default search mode {bundle.searcher.default_mode!r} in "
            f"{models.name_of(models.lexical / SEARCH_FILE)}"
        )
    for what, (found, expected) in checks.items():
        if found != expected:
            raise BundleError(f"{what} is {found} but the manifest says {expected}")


def open_encoder(models: ModelFolders, variant: str, options: LoadOptions, runtime: str) -> OnnxEncoder:
    """The query encoder: the variant's graph on `runtime`, which must be able to read it."""
    graph = runtime_graphs(models, variant)[runtime]
    try:
        return OnnxEncoder(
            models.served_onnx, variant, options.threads, options.max_tokens, options.spinning, runtime, graph
        )
    except UnreadableGraph as err:
        raise BundleError(f"{err}; choose another runtime") from None


def load_bundle(folder: str | os.PathLike, options: LoadOptions = LoadOptions()) -> Bundle:
    """Load and verify the bundle in `folder` (a bundle, or the pipeline's models/); raise BundleError naming
    the first problem found."""
    models = ModelFolders(Path(folder))
    manifest = read_verified_manifest(models)
    variant = query_variant(manifest, options.variant)
    runtime = served_runtime(models, variant, options)
    name = runtime.chosen if runtime else (DEFAULT_RUNTIME if options.runtime == "auto" else options.runtime)
    encoder = open_encoder(models, variant, options, name)
    classifier = HybridClassifier.load(models.classifier)
    index = VectorIndex(models.served_index)
    papers = PaperStore(models.served_index / PAPERS_FILE)
    searcher = load_searcher(models, index, classifier.features)
    release = json.loads(models.release.read_text()) if models.release.is_file() else None
    bundle = Bundle(manifest, release, encoder, classifier, index, papers, searcher, manifest.recommend, runtime)
    check_sizes(bundle, models)
    log.info("loaded bundle: %s, %d papers, %s encoder on %s", manifest.model_name, index.ntotal, variant, name)
    return bundle
