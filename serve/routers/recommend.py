"""Recommendations for a reader's library: as JSON (/recommend) and as an Atom feed a feed reader polls."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from arxiv_embed.engine.results import Recommendations
from arxiv_embed.recommend.library import LibraryQuery
from serve.feed import FEED_RESPONSES, feed_response
from serve.routers import RouteContext
from serve.schemas import FEED_SINCE, ErrorDetail, MethodName, PaperId, RecommendResponse, UnprocessableDetail
from serve.state import CurrentEngine

LIBRARY_ERRORS = {
    404: {"model": ErrorDetail, "description": "a liked or disliked id is not in the index (the feed: none is)"},
    422: {
        "model": UnprocessableDetail,
        "description": "an invalid body, BibTeX with no entry that parses or none that can be used, or `since` in "
        "the future",
    },
}


def recommend_router(ctx: RouteContext) -> APIRouter:
    router, requests, cfg = APIRouter(tags=["recommend"], dependencies=ctx.protected), ctx.requests, ctx.cfg

    @router.post("/recommend", response_model=RecommendResponse, responses={**ctx.guarded, **LIBRARY_ERRORS})
    async def recommend(body: requests.recommend, engine: CurrentEngine) -> Recommendations:
        """Papers like the reader's library (liked ids, texts and/or BibTeX), none of them liked, disliked or
        excluded, from the papers first announced since `since` (every paper when unset)."""
        return await engine.recommend(LibraryQuery(**body.model_dump()))

    @router.get(
        "/feed.atom",
        response_class=Response,
        responses={**ctx.guarded, **LIBRARY_ERRORS, **FEED_RESPONSES},
    )
    async def feed(
        request: Request,
        engine: CurrentEngine,
        like: Annotated[list[PaperId], Query(min_length=1, max_length=cfg.max_library)],
        since: Annotated[dt.date | None, Query(description=FEED_SINCE)] = None,
        k: Annotated[int, Query(ge=1, le=cfg.max_k)] = 20,
        method: Annotated[MethodName | None, Query(description="unset: the method chosen on val")] = None,
    ) -> Response:
        """An Atom feed of the papers like `like` first announced since `since`; the same bundle and query give the same
        ETag, so a feed reader's repeated poll is answered 304 without ranking anything. A liked id the index
        does not hold (withdrawn, or never indexed) is left out and named in the feed's subtitle; only a feed
        none of whose ids the index holds is a 404."""
        query = LibraryQuery(like=like, since=since or engine.feed_since, k=k, method=method, skip_unknown=True)
        return await feed_response(request, engine, query, request.url.query)

    return router
