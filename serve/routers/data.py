"""The indexed papers' stored metadata."""

from typing import Annotated

from fastapi import APIRouter, Path

from arxiv_embed.engine.results import Paper as PaperRecord
from serve.routers import RouteContext
from serve.schemas import ErrorDetail, Paper
from serve.state import CurrentEngine

UNKNOWN_ID = {404: {"model": ErrorDetail, "description": "no paper with that id in the index"}}


def data_router(ctx: RouteContext) -> APIRouter:
    router = APIRouter(tags=["data"], dependencies=ctx.protected)

    @router.get("/papers/{paper_id:path}", response_model=Paper, responses={**ctx.guarded, **UNKNOWN_ID})
    async def paper(paper_id: Annotated[str, Path(max_length=64)], engine: CurrentEngine) -> PaperRecord:
        """The stored metadata of one indexed paper."""
        return await engine.paper(paper_id)

    return router
