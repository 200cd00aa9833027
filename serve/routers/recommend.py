"""Recommendations for a reader's library: as JSON (/recommend) and as an Atom feed a feed reader polls."""

import datetime as dt
import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from arxiv_embed.engine.results import Recommendations
from arxiv_embed.recommend.library import LibraryQuery
from serve.feed import atom_feed
from serve.routers import RouteContext
from serve.schemas import ErrorDetail, MethodName, PaperId, RecommendResponse, UnprocessableDetail
from serve.state import CurrentEngine

ATOM = "application/atom+xml"
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
        excluded, from the papers stamped since `since` (every paper when unset)."""
        return await engine.recommend(LibraryQuery(**body.model_dump()))

    @router.get(
        "/feed.atom",
        response_class=Response,
        responses={
            **ctx.guarded,
            **LIBRARY_ERRORS,
            200: {"content": {ATOM: {}}, "description": "an Atom feed of the recommended papers"},
            304: {"description": "the feed has not changed since the ETag given in If-None-Match"},
        },
    )
    async def feed(
        request: Request,
        engine: CurrentEngine,
        like: Annotated[list[PaperId], Query(min_length=1, max_length=cfg.max_library)],
        since: Annotated[dt.date | None, Query(description="default: the newest harvest's day")] = None,
        k: Annotated[int, Query(ge=1, le=cfg.max_k)] = 20,
        method: Annotated[MethodName | None, Query(description="unset: the method chosen on val")] = None,
    ) -> Response:
        """An Atom feed of the papers like `like` stamped since `since`; the same bundle and query give the same
        ETag, so a feed reader's repeated poll is answered 304 without ranking anything. A liked id the index
        does not hold (withdrawn, or never indexed) is left out and named in the feed's subtitle; only a feed
        none of whose ids the index holds is a 404."""
        tag = hashlib.sha256(f"{engine.version} {request.url.query}".encode()).hexdigest()[:32]
        etag = f'"{tag}"'
        headers = {"ETag": etag, "Cache-Control": "max-age=3600"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        query = LibraryQuery(like=like, since=since or engine.newest_day, k=k, method=method, skip_unknown=True)
        answer = await engine.recommend(query)
        built = dt.datetime.fromtimestamp(engine.loaded_at, dt.UTC)
        return Response(atom_feed(answer, str(request.url), engine.version, built), media_type=ATOM, headers=headers)

    return router
