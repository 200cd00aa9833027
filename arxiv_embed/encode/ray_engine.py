"""Embedding the corpus with Ray Data: read_parquet -> map_batches on an actor pool -> write_parquet.

Each actor loads its encoder once and embeds batch after batch (`embed_table`, as the local engine does). Without
`RAY_ADDRESS` a local Ray starts on this machine; with it (e.g. `RAY_ADDRESS=auto` on a node of a running
cluster) the actors spread over the cluster. Paths use Ray's `local://` scheme: the corpus is read and the
vectors are written on the driver's node (the DVC workspace), while the actors run wherever Ray places them; the
model files travel to them through Ray's object store and the package through `py_modules`, so worker nodes need
only the Python dependencies, no shared filesystem and no copy of the repository.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import weakref
from dataclasses import replace
from pathlib import Path

from pydantic import NonNegativeFloat, PositiveFloat

from arxiv_embed.data.shards import count_rows
from arxiv_embed.encode.corpus_encoder import EncoderSpec, load_encoder
from arxiv_embed.encode.embedding import TEXT_COLUMNS, embed_table
from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, MODEL_FILES, TOKENIZER_FILE
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section

log = logging.getLogger(__name__)


@params_section
class RayConfig:
    """The Ray part of the `embed` section of params.yaml."""

    actors: Count  # size of the actor pool
    cpus_per_actor: PositiveFloat
    gpus_per_actor: NonNegativeFloat  # > 0: GPU actors encode with torch in bf16

    def actor_spec(self, spec: EncoderSpec) -> EncoderSpec:
        """GPU actors use torch on CUDA; CPU actors use the ONNX graph with one thread per reserved CPU."""
        if self.gpus_per_actor > 0:
            return replace(spec, device="cuda")
        return replace(spec, device="cpu", threads=max(1, int(self.cpus_per_actor)))


def model_files(spec: EncoderSpec) -> dict[str, bytes]:
    """The files an actor's encoder needs, as bytes: actors on other nodes cannot read this workspace."""
    if spec.device == "cpu":
        folder = Path(spec.onnx_dir)
        names = [MODEL_FILES[spec.variant], TOKENIZER_FILE, CONFIG_FILE]
        return {name: (folder / name).read_bytes() for name in names}
    folder = Path(spec.torch_dir)
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


class _EmbedActor:
    """Holds one encoder for the actor's lifetime (its model files unpacked locally); called once per batch."""

    def __init__(self, spec: EncoderSpec, files_ref, text_field: str) -> None:
        import ray

        files: dict[str, bytes] = ray.get(files_ref)  # Ray Data passes constructor arguments as they are
        self.folder = Path(tempfile.mkdtemp(prefix="arxiv-embed-model-"))
        weakref.finalize(self, shutil.rmtree, self.folder, True)
        for name, data in files.items():
            (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_bytes(data)
        self.encode = load_encoder(replace(spec, onnx_dir=str(self.folder), torch_dir=str(self.folder)))
        self.text_field = text_field

    def __call__(self, papers):
        return embed_table(self.encode, papers, self.text_field)


def _part_names():
    from ray.data.datasource import FilenameProvider

    class PartNames(FilenameProvider):
        """part-00000.parquet, ...: deterministic names in task order, like the local engine's shards."""

        def get_filename_for_task(self, write_uuid: str, task_index: int) -> str:
            return f"part-{task_index:05d}.parquet"

    return PartNames()


def embed_ray(
    spec: EncoderSpec, corpus_dir: Path, out_dir: Path, text_field: str, batch_rows: int, cfg: RayConfig
) -> int:
    """Embed every corpus shard into `out_dir` on a Ray actor pool (`spec` from `cfg.actor_spec`); return the count."""
    try:
        import ray
    except ImportError:
        raise PipelineError("embed.engine=ray needs Ray: pip install -e '.[ray]'") from None

    import arxiv_embed

    address = os.environ.get("RAY_ADDRESS")
    # A local Ray gets one logical CPU beyond the actor pool's, for the light listing/reading/writing tasks that
    # would otherwise wait forever for a core the actors hold; on a cluster, leave that room when sizing the pool.
    local_cpus = None if address else max(os.cpu_count() or 1, math.ceil(cfg.actors * cfg.cpus_per_actor) + 1)
    # py_modules ships this checkout's package to every worker, so a queued experiment's actors run its own code.
    ray.init(address=address, num_cpus=local_cpus, include_dashboard=False, runtime_env={"py_modules": [arxiv_embed]})
    log.info("Ray %s: %s, %d actors (%s)", ray.__version__, address or "local", cfg.actors, spec.name)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # same row order, hence same index positions, every run
        ctx.enable_progress_bars = True
        # Reading and writing shards is I/O: those tasks reserve no CPU, so the actor pool may take every core.
        io_tasks = {"num_cpus": 0}
        papers = ray.data.read_parquet(
            f"local://{corpus_dir.resolve()}", columns=TEXT_COLUMNS, ray_remote_args=io_tasks
        ).repartition(target_num_rows_per_block=batch_rows)  # a shard is one block: split it so all actors work
        vectors = papers.map_batches(
            _EmbedActor,
            fn_constructor_args=(spec, ray.put(model_files(spec)), text_field),
            batch_size=batch_rows,
            batch_format="pyarrow",
            concurrency=cfg.actors,
            num_cpus=cfg.cpus_per_actor,
            num_gpus=cfg.gpus_per_actor,
        )
        vectors.write_parquet(
            f"local://{out_dir.resolve()}",
            filename_provider=_part_names(),
            mode=ray.data.SaveMode.OVERWRITE,  # a fresh folder; deterministic names need this mode
            ray_remote_args=io_tasks,
        )
    finally:
        ray.shutdown()
    return count_rows(out_dir)
