"""Server configuration from environment variables (prefix ARXIV_EMBED_), with defaults that just work.

Each field's description is what the Serving page's settings table says of it (`make docs`)."""

from __future__ import annotations

from pydantic import Field, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from arxiv_embed.layout import LAYOUT


class Settings(BaseSettings):
    """Artifact location, encoder choice, threads, request limits and access."""

    model_config = SettingsConfigDict(env_prefix="ARXIV_EMBED_")

    models_dir: str = Field(str(LAYOUT.bundle), description="the bundle to serve (and to read again on SIGHUP)")
    onnx_variant: str | None = Field(
        None,
        description="`fp32` or `int8` (int8 only if it passed its parity bar); unset: the graph that encoded "
        "the corpus",
    )
    runtime: str = Field(
        "auto",
        description="what runs the encoder's graph: `onnxruntime`, `openvino` (the `openvino` extra), or `auto`: the "
        "fastest installed one that held the variant's parity bar, as the pipeline measured it on the same CPU, else "
        "measured at start",
    )
    threads: int = Field(0, description="the encoder's threads (onnxruntime intra-op, OpenVINO); 0: every core")
    spinning: bool = Field(
        True,
        description="whether onnxruntime's idle intra-op threads busy-wait for the next call (`benchmarks.threads` "
        "measures both on the CPU at hand)",
    )
    max_tokens: int = Field(
        512, description="tokens per micro-batch and per onnxruntime call (4 texts of 128: benchmarks/peer.py)"
    )
    search_threads: int = Field(
        1, description="faiss threads per search: concurrent requests already search in parallel"
    )
    blas_threads: PositiveInt = Field(
        1,
        description="numpy's BLAS threads (the per-reader models of `/recommend`): requests already use the cores, "
        "and calls from several threads into one OpenBLAS pool queue behind each other",
    )
    max_text_chars: int = Field(20_000, description="characters of one text; more: 422")
    max_batch: int = Field(64, description="texts per `/embed` or `/v1/embeddings` request; more: 422")
    max_k: int = Field(100, description="the largest `k`; more: 422")
    max_library: int = Field(
        200, description="liked, disliked or excluded ids, or texts, in one list of a `/recommend` request; more: 422"
    )
    max_library_entries: int = Field(
        5000, description="entries of the library files (BibTeX, RIS, CSL JSON) of one `/recommend` request; more: 422"
    )
    max_library_file_chars: int = Field(10_000_000, description="characters of one library file; more: 422")
    max_library_texts: PositiveInt = Field(
        64,
        description="liked texts encoded per `/recommend` request: a library with more by text is a seeded sample "
        "of this many, so a whole export's cost stays bounded",
    )
    max_body_bytes: int = Field(
        16_000_000,
        description="bytes of one request body (a library file with its JSON); more: 413, before it is parsed",
    )
    batch_wait_ms: float = Field(
        2.0, description="how long the micro-batcher waits for concurrent requests to join a batch"
    )
    max_in_flight: PositiveInt = Field(
        128, description="requests being answered at once; more get 429 with Retry-After, not a queue"
    )
    retry_after_s: PositiveInt = Field(1, description="the Retry-After of a 429, in seconds")
    api_key: SecretStr | None = Field(
        None, description="set: every route but `/health`, `/ready` and `/metrics` needs `Authorization: Bearer <key>`"
    )
    data_dir: str | None = Field(
        None,
        description="a writable folder (the container's volume) where saved libraries live (`libraries.sqlite`); "
        "unset: `/libraries` and `/feeds` answer 503",
    )
    served_model_name: str = Field("arxiv-embed", description="the model id of `/v1/models` and `/v1/embeddings`")
    pid_file: str | None = Field(
        None,
        description="where `python -m serve` keeps its pid while it runs, for `make update`'s SIGHUP "
        "(`make serve` sets .serve.pid)",
    )


settings = Settings()
