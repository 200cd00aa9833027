"""The optional API key: with `ARXIV_EMBED_API_KEY` set, requests must send `Authorization: Bearer <key>`.

Off by default, as in TEI and infinity. The key is compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

UNAUTHORIZED = {401: {"description": "no `Authorization: Bearer` header with the server's API key"}}
bearer = HTTPBearer(auto_error=False, description="the server's API key (ARXIV_EMBED_API_KEY)")


def api_key_dependencies(key: SecretStr | None) -> list[DependsParam]:
    """The route dependencies that check `key`; none when no key is set, so the schema asks for no credentials."""
    if key is None:
        return []
    expected = key.get_secret_value().encode()

    async def require_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(
                401, "a valid API key is required: send Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"}
            )

    return [Depends(require_key)]
