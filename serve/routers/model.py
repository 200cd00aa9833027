"""The model's answers: embeddings, category probabilities, and the nearest papers to a text or a paper."""

from fastapi import APIRouter

from arxiv_embed.engine.results import Categories, Found
from serve.routers import RouteContext
from serve.routers.data import UNKNOWN_ID
from serve.schemas import ClassifyResponse, EmbedResponse, SearchResponse
from serve.state import CurrentEngine


def model_router(ctx: RouteContext) -> APIRouter:
    router, requests, guarded = APIRouter(tags=["model"], dependencies=ctx.protected), ctx.requests, ctx.guarded

    @router.post("/embed", response_model=EmbedResponse, responses=guarded)
    async def embed(body: requests.embed, engine: CurrentEngine) -> EmbedResponse:
        """L2-normalised embeddings of a batch of texts, identical to the pipeline's."""
        embedded = await engine.embed(body.texts)
        return EmbedResponse(dim=embedded.dim, vectors=embedded.vectors.tolist())

    @router.post("/classify", response_model=ClassifyResponse, responses=guarded)
    async def classify(body: requests.classify, engine: CurrentEngine) -> Categories:
        """Top-k primary categories with probabilities for a title and/or abstract, or one free text."""
        if isinstance(body, requests.classify_by_text):
            return await engine.classify_text(body.text, body.k)
        return await engine.classify(body.title or "", body.abstract or "", body.k)

    @router.post("/search", response_model=SearchResponse, responses={**guarded, **UNKNOWN_ID})
    async def search(body: requests.search, engine: CurrentEngine) -> Found:
        """The k nearest papers to free text (dense, lexical or hybrid search), or to a paper of the index given
        by its arXiv id (dense: its stored vector)."""
        if isinstance(body, requests.search_by_id):
            return await engine.search_paper(body.id, body.k)
        return await engine.search_text(body.text, body.k, body.mode)

    return router
