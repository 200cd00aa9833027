"""OpenAI-compatible embeddings (`POST /v1/embeddings`, `GET /v1/models`), as TEI and infinity serve them.

The official `openai` client, LangChain's and LlamaIndex's OpenAI embeddings work against the server unchanged
(`base_url=http://host:8000/v1`). The vectors are /embed's: same encoder, same micro-batcher.
"""

import base64

from fastapi import APIRouter, HTTPException

from serve.routers import RouteContext
from serve.schemas import (
    Embedding,
    EmbeddingsResponse,
    EmbeddingsUsage,
    ErrorDetail,
    ModelCard,
    ModelList,
)
from serve.state import CurrentEngine

OWNER = "arxiv-embed"


def openai_router(ctx: RouteContext) -> APIRouter:
    """The /v1 routes."""
    router = APIRouter(prefix="/v1", tags=["openai"], dependencies=ctx.protected)
    name, requests, responses = ctx.cfg.served_model_name, ctx.requests, ctx.guarded
    errors = {
        **responses,
        400: {"model": ErrorDetail, "description": "`dimensions` other than the served one, or a body not UTF-8"},
        404: {"model": ErrorDetail, "description": "`model` is not the served model"},
    }

    @router.get("/models", response_model=ModelList, responses=responses)
    async def models(engine: CurrentEngine) -> ModelList:
        """The served model, the one id that /v1/embeddings takes."""
        return ModelList(data=[ModelCard(id=name, created=engine.loaded_at, owned_by=OWNER)])

    @router.post("/embeddings", response_model=EmbeddingsResponse, responses=errors)
    async def embeddings(body: requests.embeddings, engine: CurrentEngine) -> EmbeddingsResponse:
        """L2-normalised embeddings in OpenAI's response shape; usage counts the tokens the encoder read."""
        if body.model != name:
            raise HTTPException(404, f"model {body.model!r} is not served here; this server serves {name!r}")
        dim = engine.dim
        if body.dimensions is not None and body.dimensions != dim:
            raise HTTPException(
                400,
                f"dimensions={body.dimensions} cannot be served: this model's vectors have {dim} dimensions and "
                "were not trained to be cut shorter",
            )
        texts = [body.input] if isinstance(body.input, str) else body.input
        embedded = await engine.embed(texts)
        if body.encoding_format == "base64":
            rows = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in embedded.vectors]
        else:
            rows = embedded.vectors.tolist()
        return EmbeddingsResponse(
            data=[Embedding(index=i, embedding=row) for i, row in enumerate(rows)],
            model=name,
            usage=EmbeddingsUsage(prompt_tokens=embedded.tokens, total_tokens=embedded.tokens),
        )

    return router
