"""Every path the project names: where each stage reads and writes, and where each file sits inside a bundle.

`LAYOUT` is the checkout's layout, relative to the repository root where DVC runs the stages, and dvc.yaml's
deps and outs mirror it. A bundle holds the served part of `models/` at the same relative places, so
`ModelFolders(bundle_dir)` names a bundle's files as `LAYOUT.models` names the pipeline's. The file names inside
a folder belong to the module that writes it (`index.faiss` to `arxiv_embed.search.index`, and so on).

Two words are kept apart: "base index" is the corpus index the build_index stage writes; "served index" is the
base plus every harvested shard (the live_index stage), which is what a bundle serves. DVCLive's folders are
`dvclive_*`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class AdapterFolder:
    """The adapter stage's out: the adapter's weights, the served graphs and the sentence-transformers copy."""

    root: Path

    @property
    def served_onnx(self) -> Path:
        """The exported graphs with the adapter appended: what encodes queries and harvested papers."""
        return self.root / "onnx"

    @property
    def sentence_model(self) -> Path:
        """The fine-tuned encoder with the adapter as a `Dense` module, for sentence-transformers users."""
        return self.root / "sentence-transformers"


@dataclass(frozen=True)
class ModelFolders:
    """A models folder: the pipeline's `models/`, or a bundle (which holds only the served folders of it)."""

    root: Path

    @property
    def encoder(self) -> Path:
        """The fine-tuned sentence-transformers model."""
        return self.root / "encoder"

    @property
    def exported_onnx(self) -> Path:
        """The fine-tuned encoder's fp32 and int8 graphs, which the embed stage runs."""
        return self.root / "onnx"

    @property
    def adapter(self) -> AdapterFolder:
        return AdapterFolder(self.root / "adapter")

    @property
    def served_onnx(self) -> Path:
        return self.adapter.served_onnx

    @property
    def openvino(self) -> Path:
        """OpenVINO's int8 graph of the served encoder, and which runtime serves int8 on which CPU."""
        return self.root / "openvino"

    @property
    def classifier(self) -> Path:
        return self.root / "classifier"

    @property
    def base_index(self) -> Path:
        """The corpus's FAISS index and papers, rebuilt only when the encoder or the corpus changes."""
        return self.root / "index"

    @property
    def lexical(self) -> Path:
        """The base index's TF-IDF postings and the search spec (fusion and default mode) chosen on val."""
        return self.root / "lexical"

    @property
    def recommend(self) -> Path:
        """The recommendation spec: the method chosen on val for readers' libraries, and its settings."""
        return self.root / "recommend"

    @property
    def served_index(self) -> Path:
        """The base index plus every harvested shard, grown in place, with its postings: what a bundle serves."""
        return self.root / "live_index"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def release(self) -> Path:
        """Beside a fetched bundle: the registry version and stage it was fetched as."""
        return self.root / "release.json"

    def name_of(self, path: Path) -> str:
        """`path` as a bundle names it: relative to the folder, with forward slashes."""
        return path.relative_to(self.root).as_posix()


@dataclass(frozen=True)
class Layout:
    """The checkout: data/, models/, metrics/ and dvclive/ under `root`."""

    root: Path = Path()
    models: ModelFolders = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", ModelFolders(self.root / "models"))

    @property
    def raw(self) -> Path:
        """Sharded Parquet with the canonical columns, as the download stage writes it."""
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        """The splits and the corpus."""
        return self.root / "data" / "processed"

    @property
    def corpus(self) -> Path:
        """Every clean paper up to subsample.corpus_max_papers, sharded."""
        return self.processed / "corpus"

    def split(self, name: str) -> Path:
        return self.processed / f"{name}.parquet"

    @property
    def pool(self) -> Path:
        """The labelled training pool, sharded: every clean paper of a labelled category outside val and test."""
        return self.root / "data" / "pool"

    @property
    def token_cache(self) -> Path:
        """The tokenize stage's out."""
        return self.root / "data" / "tokens"

    @property
    def tokens(self) -> Path:
        """Token ids of the train split, row for row."""
        return self.token_cache / "train.npz"

    @property
    def embeddings(self) -> Path:
        return self.root / "data" / "embeddings"

    @property
    def corpus_vectors(self) -> Path:
        """(id, vector) shards of the corpus, from the fine-tuned encoder."""
        return self.embeddings / "corpus"

    @property
    def embedded_with(self) -> Path:
        """Which encoder made the corpus vectors (the manifest reads it)."""
        return self.embeddings / "encoder.json"

    def split_vectors(self, name: str) -> Path:
        return self.embeddings / f"{name}.npz"

    @property
    def adapted(self) -> Path:
        """The served vectors: the embeddings after the label-trained adapter."""
        return self.root / "data" / "adapted"

    @property
    def adapted_corpus(self) -> Path:
        return self.adapted / "corpus"

    def adapted_split(self, name: str) -> Path:
        return self.adapted / f"{name}.npz"

    @property
    def harvest(self) -> Path:
        """One Parquet shard per harvest, tracked with `dvc add`, and harvest.yaml's list of them."""
        return self.root / "data" / "harvest"

    @property
    def harvest_state(self) -> Path:
        """The harvest's state: the last datestamp and the shards, which dvc.yaml's foreach reads."""
        return self.root / "harvest.yaml"

    def harvest_shard(self, shard: str) -> Path:
        return self.harvest / f"{shard}.parquet"

    @property
    def updates(self) -> Path:
        """One folder a harvest shard, each the out of its embed_harvest stage; the live_index stage reads them all."""
        return self.root / "data" / "updates"

    def update(self, shard: str) -> Path:
        """A harvest shard's papers and served vectors (the embed_harvest@<shard> stage)."""
        return self.updates / shard

    def bench_work(self, benchmark: str) -> Path:
        """A benchmark's scratch folder (synthetic corpora, caches): never a DVC out."""
        return self.root / "data" / "bench" / benchmark

    @property
    def bundle(self) -> Path:
        """What the server loads: the served files, their manifest, the run's provenance and test metrics."""
        return self.models.root / "bundle"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics"

    def stage_metrics(self, stage: str) -> Path:
        return self.metrics / f"{stage}.json"

    @property
    def embedding_map(self) -> Path:
        """t-SNE of test papers before and after fine-tuning (the embedding_map stage)."""
        return self.metrics / "embedding_map.png"

    def plot(self, name: str) -> Path:
        """A CSV that dvc.yaml declares as a plot (category_counts, adapter_loss, search_fusion, ...)."""
        return self.metrics / f"{name}.csv"

    @property
    def dvclive(self) -> Path:
        """DVCLive's folders, one a stage: metrics.json and plots/ for `dvc exp show` and `dvc plots`."""
        return self.root / "dvclive"

    def stage_dvclive(self, stage: str) -> Path:
        return self.dvclive / stage


LAYOUT = Layout()
