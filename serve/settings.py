"""Server configuration from environment variables (prefix ARXIV_EMBED_), with defaults that just work."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Artifact location, encoder choice, threads and request limits."""

    model_config = SettingsConfigDict(env_prefix="ARXIV_EMBED_")

    models_dir: str = "models"
    onnx_variant: str | None = None  # fp32 | int8; unset: the variant that encoded the corpus (manifest)
    threads: int = 0  # onnxruntime intra-op threads; 0 lets it use every core
    max_tokens: int = 512  # tokens per micro-batch and per onnxruntime call: 4 texts of 128 (benchmarks/peer.py)
    search_threads: int = 1  # faiss threads per search; concurrent requests already search in parallel
    max_text_chars: int = 20_000
    max_batch: int = 64  # texts per /embed request
    max_k: int = 100
    max_body_bytes: int = 2_000_000
    batch_wait_ms: float = 2.0  # how long the micro-batcher waits for concurrent requests to join a batch


settings = Settings()
