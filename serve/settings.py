"""Server configuration from environment variables (prefix ARXIV_EMBED_), with defaults that just work."""

from __future__ import annotations

from pydantic import PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from arxiv_embed.layout import LAYOUT


class Settings(BaseSettings):
    """Artifact location, encoder choice, threads, request limits and access."""

    model_config = SettingsConfigDict(env_prefix="ARXIV_EMBED_")

    models_dir: str = str(LAYOUT.bundle)
    onnx_variant: str | None = None  # fp32 | int8; unset: the variant that encoded the corpus (manifest)
    threads: int = 0  # onnxruntime intra-op threads; 0 lets it use every core
    max_tokens: int = 512  # tokens per micro-batch and per onnxruntime call: 4 texts of 128 (benchmarks/peer.py)
    search_threads: int = 1  # faiss threads per search; concurrent requests already search in parallel
    # numpy's BLAS threads (the per-reader models of /recommend): concurrent requests already use the cores, and
    # calls from several threads into one OpenBLAS pool queue behind each other (benchmarks/recommend.py at c8)
    blas_threads: PositiveInt = 1
    max_text_chars: int = 20_000
    max_batch: int = 64  # texts per /embed request
    max_k: int = 100
    max_library: int = 200  # liked, disliked or excluded ids, or texts, per /recommend request; BibTeX entries too
    max_bibtex_chars: int = 500_000
    max_body_bytes: int = 2_000_000
    batch_wait_ms: float = 2.0  # how long the micro-batcher waits for concurrent requests to join a batch
    max_in_flight: PositiveInt = 128  # requests being answered at once; more get 429 and Retry-After, not a queue
    retry_after_s: PositiveInt = 1
    api_key: SecretStr | None = None  # set: every route but /health, /ready and /metrics needs `Bearer <key>`
    served_model_name: str = "arxiv-embed"  # the model id of /v1/models and /v1/embeddings
    pid_file: str | None = None  # `python -m serve` keeps its pid here while it runs, for `make update`'s SIGHUP


settings = Settings()
