"""Where each stage reads and writes, mirrored by the deps and outs in dvc.yaml."""

from pathlib import Path

RAW_PAPERS = Path("data/raw/papers.parquet")
PROCESSED_DIR = Path("data/processed")
EMBEDDINGS_DIR = Path("data/embeddings")
MODELS_DIR = Path("models")
ENCODER_DIR = MODELS_DIR / "encoder"
METRICS_DIR = Path("metrics")


def split_path(split: str) -> Path:
    return PROCESSED_DIR / f"{split}.parquet"


def embeddings_path(split: str) -> Path:
    return EMBEDDINGS_DIR / f"{split}.npz"
