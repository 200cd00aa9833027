"""Operations: liveness, readiness (which bundle is served, and how it scored), Prometheus metrics, the page."""

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serve.schemas import Health, Ready
from serve.state import Current, State


def ops_router() -> APIRouter:
    router = APIRouter(tags=["ops"])
    page = files("serve").joinpath("static/index.html").read_text()

    @router.get("/health", response_model=Health)
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @router.get("/ready", response_model=Ready)
    async def ready(served: Current) -> Ready:
        """Readiness: the verified bundle is loaded; which version, model, encoder and index it serves, the run
        that built it, its test metrics and, when fetched from the registry, its registered version and stage."""
        m = served.bundle.manifest
        return Ready(
            status="ready",
            bundle_version=m.version,
            model_name=m.model_name,
            onnx_variant=served.bundle.encoder.variant,
            index_type=m.index_type,
            index_size=m.index_size,
            corpus_size=m.corpus_size,
            newest_paper_date=m.newest_datestamp,
            harvest_shards=m.harvest.shards,
            dim=m.dim,
            text_field=m.text_field,
            search_mode=served.bundle.searcher.default_mode,
            recommend_method=served.bundle.recommend.default_method,
            provenance=m.provenance,
            metrics=m.metrics,
            release=served.bundle.release,
            artifact_hashes={name: digest[:12] for name, digest in m.files.items()},
        )

    @router.get("/metrics", response_class=Response)
    async def metrics(state: State) -> Response:
        """Prometheus request counters and latency histograms."""
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index_page() -> str:
        return page

    return router
