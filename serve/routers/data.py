"""The indexed papers' stored metadata."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.concurrency import run_in_threadpool

from serve.routers import RouteContext
from serve.schemas import ErrorDetail, Paper
from serve.state import Current

UNKNOWN_ID = {404: {"model": ErrorDetail, "description": "no paper with that id in the index"}}


def data_router(ctx: RouteContext) -> APIRouter:
    router = APIRouter(tags=["data"], dependencies=ctx.protected)

    @router.get("/papers/{paper_id:path}", response_model=Paper, responses={**ctx.guarded, **UNKNOWN_ID})
    async def paper(paper_id: Annotated[str, Path(max_length=64)], served: Current) -> Paper:
        """The stored metadata of one indexed paper."""
        found = await run_in_threadpool(served.paper, paper_id)
        if found is None:
            raise HTTPException(404, f"unknown paper id {paper_id!r}")
        return found

    return router
