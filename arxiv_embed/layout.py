"""Where each stage reads and writes, mirrored by the deps and outs in dvc.yaml."""

from pathlib import Path

RAW_DIR = Path("data/raw")  # sharded Parquet, canonical columns
PROCESSED_DIR = Path("data/processed")
CORPUS_DIR = PROCESSED_DIR / "corpus"  # every clean paper up to subsample.corpus_max_papers, sharded
TOKENS_FILE = Path("data/tokens/train.npz")  # token ids of the train split, row for row
EMBEDDINGS_DIR = Path("data/embeddings")
CORPUS_VECTORS_DIR = EMBEDDINGS_DIR / "corpus"  # (id, vector) shards of the corpus
EMBEDDED_WITH_FILE = EMBEDDINGS_DIR / "encoder.json"  # which encoder made the corpus vectors
ADAPTED_DIR = Path("data/adapted")  # the served vectors: the embeddings after the label-trained adapter
ADAPTED_CORPUS_DIR = ADAPTED_DIR / "corpus"
MODELS_DIR = Path("models")
ENCODER_DIR = MODELS_DIR / "encoder"
ONNX_DIR = MODELS_DIR / "onnx"  # the fine-tuned encoder's graphs, which the embed stage runs
ADAPTER_DIR = MODELS_DIR / "adapter"  # the adapter, the served graphs and the sentence-transformers folder with it
INDEX_DIR = MODELS_DIR / "index"  # the base index: the corpus, rebuilt only when the encoder or the corpus changes
LIVE_INDEX_DIR = MODELS_DIR / "live_index"  # the served index: the base plus every harvested shard, grown in place
BUNDLE_DIR = MODELS_DIR / "bundle"  # what the server loads: the served files, manifest, provenance, test metrics
HARVEST_DIR = Path("data/harvest")  # one Parquet shard per harvest (tracked with `dvc add`)
UPDATES_DIR = Path("data/updates")  # each harvest shard's papers and served vectors (embed_harvest@<shard>)
METRICS_DIR = Path("metrics")
LIVE_DIR = Path("dvclive")  # DVCLive's folders, one a stage: metrics.json and plots/ for `dvc exp show`, `dvc plots`
FINETUNE_LIVE_DIR = LIVE_DIR / "finetune"  # loss and learning rate per step
EVALUATE_LIVE_DIR = LIVE_DIR / "evaluate"  # the headline test metrics and the evaluation plots


def split_path(split: str) -> Path:
    return PROCESSED_DIR / f"{split}.parquet"


def embeddings_path(split: str) -> Path:
    return EMBEDDINGS_DIR / f"{split}.npz"


def adapted_path(split: str) -> Path:
    return ADAPTED_DIR / f"{split}.npz"
