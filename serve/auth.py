"""The optional API key: with `ARXIV_EMBED_API_KEY` set, requests must send `Authorization: Bearer <key>`; and a
saved library's owner secret, which opens that library (or the API key does) whether or not a key is set.

Off by default, as in TEI and infinity. Keys and secrets are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from serve.state import Libraries

UNAUTHORIZED = {401: {"description": "no `Authorization: Bearer` header with the server's API key"}}
NOT_THE_OWNER = {
    401: {"description": "no `Authorization: Bearer` header with the library's owner secret or the API key"}
}
bearer = HTTPBearer(auto_error=False, description="the server's API key (ARXIV_EMBED_API_KEY)")
owner = HTTPBearer(auto_error=False, description="the library's owner secret, or the server's API key")
LibraryId = Annotated[str, Path(min_length=1, max_length=64, description="the id answered when it was saved")]


def refused(reason: str) -> HTTPException:
    return HTTPException(401, reason, {"WWW-Authenticate": "Bearer"})


def api_key_dependencies(key: SecretStr | None) -> list[DependsParam]:
    """The route dependencies that check `key`; none when no key is set, so the schema asks for no credentials."""
    if key is None:
        return []
    expected = key.get_secret_value().encode()

    async def require_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise refused("a valid API key is required: send Authorization: Bearer <key>")

    return [Depends(require_key)]


def library_owner_dependencies(key: SecretStr | None) -> list[DependsParam]:
    """The route dependencies of one saved library: its owner secret or the API key. A wrong secret and a library
    that does not exist answer alike, so a secret cannot be used to learn which ids exist."""
    expected = key.get_secret_value().encode() if key else None

    async def require_owner(
        library_id: LibraryId,
        libraries: Libraries,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(owner)],
    ) -> None:
        given = credentials.credentials if credentials else ""
        if expected and hmac.compare_digest(given.encode(), expected):
            return
        if not (given and await run_in_threadpool(libraries.owned_by, library_id, given)):
            raise refused("send Authorization: Bearer <owner_secret> (answered when the library was saved)")

    return [Depends(require_owner)]
