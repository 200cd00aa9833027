"""Operations: liveness, readiness (which bundle is served, and how it scored), Prometheus metrics, the page."""

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from arxiv_embed.engine.results import Description
from serve.metrics import CONTENT_TYPE
from serve.schemas import Health, Ready
from serve.state import CurrentEngine, State


def ops_router() -> APIRouter:
    router = APIRouter(tags=["ops"])
    page = files("serve").joinpath("static/index.html").read_text()

    @router.get("/health", response_model=Health)
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @router.get("/ready", response_model=Ready)
    async def ready(engine: CurrentEngine) -> Description:
        """Readiness: the verified bundle is loaded; which version, model, encoder and index it serves, the run
        that built it, its test metrics and, when fetched from the registry, its registered version and stage."""
        return engine.describe()

    @router.get("/metrics", response_class=Response)
    async def metrics(state: State) -> Response:
        """Prometheus request counters and latency histograms."""
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index_page() -> str:
        return page

    return router
