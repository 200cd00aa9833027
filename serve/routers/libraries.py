"""Saved libraries and their private feeds: a reader saves a library once and gives a feed reader its URL.

`POST /libraries` needs the API key when one is set; each library's own routes need its owner secret (or the key);
`/feeds/{token}.atom` needs nothing but its token, which opens only that feed, because feed readers send no headers.
"""

import datetime as dt
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from arxiv_embed.engine.engine import Engine
from arxiv_embed.errors import UnanswerableQuery
from arxiv_embed.recommend.library import Library, LibraryQuery
from arxiv_embed.recommend.saved import SavedLibrary
from serve.auth import NOT_THE_OWNER, LibraryId, library_owner_dependencies
from serve.feed import FEED_RESPONSES, feed_response
from serve.routers import RouteContext
from serve.schemas import (
    FEED_SINCE,
    CreatedLibrary,
    ErrorDetail,
    RotatedFeed,
    SavedLibraryResponse,
    UnprocessableDetail,
)
from serve.state import CurrentEngine, Libraries

OFF = {503: {"model": ErrorDetail, "description": "the server keeps no saved libraries: ARXIV_EMBED_DATA_DIR unset"}}
UNKNOWN = {404: {"model": ErrorDetail, "description": "no saved library has this id"}}
UNUSABLE = {
    404: {"model": ErrorDetail, "description": "the index holds none of the library's liked ids"},
    422: {"model": UnprocessableDetail, "description": "an invalid library, or one with nothing the index can use"},
}
STALE = {412: {"model": ErrorDetail, "description": "If-Match names a version that is no longer the library's"}}
FEED_GONE = {
    404: {"model": ErrorDetail, "description": "no feed has this URL"},
    410: {"model": ErrorDetail, "description": "this feed URL was revoked: rotated, or its library deleted"},
}
EDITS = {"like": ("add_like", "remove_like"), "dislike": ("add_dislike", "remove_dislike"), "exclude": ("add_exclude",)}


def reading(spec: dict[str, Any]) -> LibraryQuery:
    """A stored library as the engine reads it: ids the index no longer holds are skipped, not refused."""
    return LibraryQuery(**spec, skip_unknown=True)


def described(library: SavedLibrary, read: Library) -> dict[str, Any]:
    """The stored library and how the served index reads it (`read`: `engine.read_library` of it)."""
    return {
        "id": library.id,
        "version": library.version,
        "created": library.created,
        "updated": library.updated,
        "library": library.spec,
        "counts": read.counts(),
        "unused": read.unused,
        "skipped": read.skipped,
    }


def edited(spec: dict[str, Any], edit: dict[str, Any], max_ids: int) -> dict[str, Any]:
    """`spec` with `edit`'s ids added and removed (order kept, each once) and its `k` or `method` set;
    UnanswerableQuery for a list grown past `max_ids` or a library left with nothing liked."""
    spec = dict(spec)
    for name, (add, *remove) in EDITS.items():
        removed = set(edit.get(remove[0], [])) if remove else set()
        ids = [i for i in dict.fromkeys([*spec.get(name, []), *edit.get(add, [])]) if i not in removed]
        if len(ids) > max_ids:
            raise UnanswerableQuery(f"{name} would hold {len(ids)} ids; this server takes {max_ids}")
        spec[name] = ids
    spec.update({key: edit[key] for key in ("k", "method") if edit.get(key) is not None})
    if not (spec["like"] or spec.get("like_texts") or LibraryQuery(**spec).files()):
        raise UnanswerableQuery("the library would hold nothing liked: delete it instead")
    return spec


def version_of(if_match: str | None) -> int | None:
    """The library version an If-Match header names (`"3"`, or weak `W/"3"`); None without one."""
    if if_match is None:
        return None
    version = if_match.removeprefix("W/").strip('"')
    if not version.isdigit():
        raise UnanswerableQuery(f'If-Match {if_match!r} is not a version such as "3"')
    return int(version)


async def checked(body: Any, engine: Engine) -> tuple[dict[str, Any], Library]:
    """The body as it is stored, and how the served index reads it (refused if it cannot)."""
    spec = body.model_dump(exclude_defaults=True)
    return spec, await engine.read_library(reading(spec))


async def saved_library(
    library_id: LibraryId, response: Response, engine: CurrentEngine, libraries: Libraries
) -> dict[str, Any]:
    """The saved library, and how the served index reads it now; its ETag is its version."""
    library = await run_in_threadpool(libraries.get, library_id)
    response.headers["ETag"] = f'"{library.version}"'
    return described(library, await engine.read_library(reading(library.spec)))


async def delete_library(library_id: LibraryId, libraries: Libraries) -> Response:
    """Delete the library; its feed URL then answers 410."""
    await run_in_threadpool(libraries.delete, library_id)
    return Response(status_code=204)


async def rotate_feed(library_id: LibraryId, request: Request, libraries: Libraries) -> RotatedFeed:
    """A new private feed URL for the library (one that leaked, say); the old URL then answers 410."""
    token = await run_in_threadpool(libraries.rotate_feed, library_id)
    return RotatedFeed(feed_url=str(request.url_for("private_feed", token=token)))


async def private_feed(
    token: Annotated[str, Path(min_length=1, max_length=128)],
    request: Request,
    engine: CurrentEngine,
    libraries: Libraries,
    since: Annotated[dt.date | None, Query(description=FEED_SINCE)] = None,
) -> Response:
    """A saved library's feed, opened by its token alone (no header: feed readers send none), even when an API
    key guards the rest. Ids the index no longer holds are left out and named in its subtitle; a poll with the
    last ETag is answered 304 until the bundle or the library changes."""
    found = await run_in_threadpool(libraries.by_feed_token, token)
    if found.library is None:
        status, reason = (410, "this feed URL was revoked") if found.revoked else (404, "no feed has this URL")
        return JSONResponse({"detail": reason}, status)
    library = found.library
    query = replace(reading(library.spec), since=since or engine.feed_since)
    return await feed_response(request, engine, query, f"{library.id} {library.version} {since}")


def library_router(ctx: RouteContext) -> APIRouter:
    """POST /libraries; GET, PUT, PATCH, DELETE /libraries/{id}; the rotation of its feed's URL; the feed."""
    router, requests = APIRouter(tags=["libraries"]), ctx.requests
    own = library_owner_dependencies(ctx.cfg.api_key)
    owned = {**ctx.guarded, **NOT_THE_OWNER, **OFF, **UNKNOWN}

    @router.post(
        "/libraries",
        status_code=201,
        response_model=CreatedLibrary,
        dependencies=ctx.protected,
        responses={**ctx.guarded, **OFF, **UNUSABLE},
    )
    async def save(
        body: requests.library, request: Request, response: Response, engine: CurrentEngine, libraries: Libraries
    ) -> dict[str, Any]:
        """Save a library (the /recommend body without `since`); the answer holds its owner secret, given only
        now, and the URL of its private feed."""
        spec, read = await checked(body, engine)
        library, credentials = await run_in_threadpool(libraries.create, spec)
        response.headers["Location"] = str(request.url_for("saved_library", library_id=library.id))
        feed_url = str(request.url_for("private_feed", token=credentials.feed_token))
        return {**described(library, read), "owner_secret": credentials.owner_secret, "feed_url": feed_url}

    @router.put(
        "/libraries/{library_id}",
        response_model=SavedLibraryResponse,
        dependencies=own,
        responses={**owned, **UNUSABLE, **STALE},
    )
    async def replace(
        library_id: LibraryId,
        body: requests.library,
        engine: CurrentEngine,
        libraries: Libraries,
        if_match: Annotated[str | None, Header(description='"<version>": replace only that version')] = None,
    ) -> dict[str, Any]:
        """Replace the library with the body; with If-Match, only if it is still at that version."""
        spec, read = await checked(body, engine)
        library = await run_in_threadpool(libraries.change, library_id, lambda _: spec, version_of(if_match))
        return described(library, read)

    @router.patch(
        "/libraries/{library_id}", response_model=SavedLibraryResponse, dependencies=own, responses=owned | UNUSABLE
    )
    async def edit(
        library_id: LibraryId, body: requests.library_edit, engine: CurrentEngine, libraries: Libraries
    ) -> dict[str, Any]:
        """Add or remove ids (a pinned paper, a dismissed one), or set `k` or `method`; applied to the library
        as it is when the server gets the edit, so concurrent edits all land."""
        change = body.model_dump()
        library = await run_in_threadpool(
            libraries.change, library_id, lambda spec: edited(spec, change, ctx.cfg.max_library)
        )
        return described(library, await engine.read_library(reading(library.spec)))

    add_routes_without_a_body(router, own, owned)
    return router


def add_routes_without_a_body(router: APIRouter, own: list, owned: dict) -> None:
    """The routes whose request models do not depend on the settings: a library's GET, DELETE and feed rotation
    (each its owner's), and the private feed (its token's)."""
    routes = [
        ("/libraries/{library_id}", saved_library, "GET", {"response_model": SavedLibraryResponse}),
        ("/libraries/{library_id}", delete_library, "DELETE", {"status_code": 204}),
        ("/libraries/{library_id}/feed", rotate_feed, "POST", {"response_model": RotatedFeed}),
    ]
    for path, endpoint, method, extra in routes:
        router.add_api_route(path, endpoint, methods=[method], dependencies=own, responses=owned, **extra)
    router.add_api_route(
        "/feeds/{token}.atom",
        private_feed,
        methods=["GET"],
        response_class=Response,
        responses={**OFF, **FEED_GONE, **FEED_RESPONSES},
    )
