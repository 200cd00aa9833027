"""The model's answers: embeddings, category probabilities, and the nearest papers to a text or a paper."""

import numpy as np
from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from arxiv_embed.data.text import build_text
from arxiv_embed.search.modes import SEARCH_MODES
from serve.routers import RouteContext
from serve.routers.data import UNKNOWN_ID
from serve.schemas import CategoryScore, ClassifyResponse, EmbedResponse, SearchResponse
from serve.state import Current, Served, ServerState, State


async def encode(state: ServerState, served: Served, texts: list[str]) -> np.ndarray:
    return (await state.encode(served, texts))[0]


def model_router(ctx: RouteContext) -> APIRouter:
    router, requests, guarded = APIRouter(tags=["model"], dependencies=ctx.protected), ctx.requests, ctx.guarded

    @router.post("/embed", response_model=EmbedResponse, responses=guarded)
    async def embed(body: requests.embed, state: State, served: Current) -> EmbedResponse:
        """L2-normalised embeddings of a batch of texts, identical to the pipeline's."""
        vectors = await encode(state, served, body.texts)
        return EmbedResponse(dim=vectors.shape[1], vectors=vectors.tolist())

    @router.post("/classify", response_model=ClassifyResponse, responses=guarded)
    async def classify(body: requests.classify, state: State, served: Current) -> ClassifyResponse:
        """Top-k primary categories with probabilities for a title and/or abstract."""
        field = served.bundle.manifest.text_field
        text = build_text(body.title or "", body.abstract or "", field)
        if not text:
            raise HTTPException(422, f"this model reads the {field.replace('_', ' and ')}: send that field")
        vector = await encode(state, served, [text])
        probs = (await run_in_threadpool(served.bundle.classifier.predict_proba, vector, [text]))[0]  # TF-IDF
        top = np.argsort(-probs)[: body.k]
        classes = served.bundle.classifier.classes
        return ClassifyResponse(
            categories=[CategoryScore(category=str(classes[i]), probability=round(float(probs[i]), 6)) for i in top]
        )

    @router.post("/search", response_model=SearchResponse, responses={**guarded, **UNKNOWN_ID})
    async def search(body: requests.search, state: State, served: Current) -> SearchResponse:
        """The k nearest papers to free text (dense, lexical or hybrid search), or to a paper of the index given
        by its arXiv id (dense: its stored vector)."""
        by_id = isinstance(body, requests.search_by_id)
        if by_id:
            mode, text = "dense", ""
            query = await run_in_threadpool(served.stored_vector, body.id)
            if query is None:
                raise HTTPException(404, f"unknown paper id {body.id!r}")
        else:
            mode, text = body.mode or served.bundle.searcher.default_mode, body.text
            query = await encode(state, served, [text]) if SEARCH_MODES[mode].encodes else None
        # faiss and numpy release the GIL: searching in a worker thread lets concurrent requests encode meanwhile
        scores, positions = await run_in_threadpool(served.search, mode, query, text, body.k + 1)
        hits = await run_in_threadpool(served.hits, scores[0], positions[0], body.id if by_id else None)
        return SearchResponse(mode=mode, results=hits[: body.k])

    return router
