"""The app's routes by concern: ops (health, readiness, metrics, the page), model (embed, classify, search), data
(papers), recommend, libraries (saved ones and their feeds) and openai (/v1). Each module builds its router from
the app's settings and request models."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.params import Depends

from serve.schemas import RequestModels
from serve.settings import Settings


@dataclass(frozen=True)
class RouteContext:
    """What every router is built from: the settings, the request models they imply, the API-key dependency
    (empty when none is set) and the error responses each guarded route documents."""

    cfg: Settings
    requests: RequestModels
    protected: list[Depends]
    guarded: dict
