"""Request and response models; their constraints are the server's documented limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from serve.settings import settings

# Every constraint is in the JSON schema (`/openapi.json`), so a client generated from it cannot send a request
# the server refuses: non-blank text is a pattern, the one-of rules are two variants of a body.
Text = Annotated[
    str, Field(min_length=1, max_length=settings.max_text_chars, pattern=r"\S", description="non-blank text")
]
OptionalText = Annotated[str | None, Field(default=None, max_length=settings.max_text_chars)]
PaperId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$", description="an arXiv id in the index")]
K = Annotated[int, Field(ge=1, le=settings.max_k, description="how many results")]


class ErrorDetail(BaseModel):
    detail: str


class EmbedRequest(BaseModel):
    texts: list[Text] = Field(min_length=1, max_length=settings.max_batch)


class EmbedResponse(BaseModel):
    dim: int
    vectors: list[list[float]]


class ClassifyByTitle(BaseModel):
    """A non-blank title, with or without an abstract."""

    title: Text
    abstract: OptionalText = None
    k: K = 5


class ClassifyByAbstract(BaseModel):
    """A non-blank abstract, with or without a title."""

    abstract: Text
    title: OptionalText = None
    k: K = 5


ClassifyRequest = ClassifyByTitle | ClassifyByAbstract


class CategoryScore(BaseModel):
    category: str
    probability: float


class ClassifyResponse(BaseModel):
    categories: list[CategoryScore]


class SearchByText(BaseModel):
    """Papers near free text, e.g. an abstract."""

    model_config = ConfigDict(extra="forbid")  # `text` and `id` together match neither variant
    text: Text
    k: K = 10


class SearchById(BaseModel):
    """Papers near a paper of the index."""

    model_config = ConfigDict(extra="forbid")
    id: PaperId
    k: K = 10


SearchRequest = SearchByText | SearchById


class Paper(BaseModel):
    id: str
    title: str
    category: str


class SearchHit(Paper):
    score: float = Field(description="cosine similarity")


class SearchResponse(BaseModel):
    results: list[SearchHit]


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    model_name: str
    onnx_variant: str
    index_type: str
    index_size: int
    dim: int
    text_field: str
    artifact_hashes: dict[str, str]
