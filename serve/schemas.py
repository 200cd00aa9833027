"""Request and response models; their constraints are the server's documented limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from serve.settings import settings


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text must not be empty or whitespace")
    return text


Text = Annotated[str, Field(max_length=settings.max_text_chars), AfterValidator(_not_blank)]
OptionalText = Annotated[str | None, Field(default=None, max_length=settings.max_text_chars)]
K = Annotated[int, Field(ge=1, le=settings.max_k, description="how many results")]


class EmbedRequest(BaseModel):
    texts: list[Text] = Field(min_length=1, max_length=settings.max_batch)


class EmbedResponse(BaseModel):
    dim: int
    vectors: list[list[float]]


class ClassifyRequest(BaseModel):
    title: OptionalText = None
    abstract: OptionalText = None
    k: K = 5

    @model_validator(mode="after")
    def _needs_text(self) -> ClassifyRequest:
        if not (self.title or "").strip() and not (self.abstract or "").strip():
            raise ValueError("give a title, an abstract, or both")
        return self


class CategoryScore(BaseModel):
    category: str
    probability: float


class ClassifyResponse(BaseModel):
    categories: list[CategoryScore]


class SearchRequest(BaseModel):
    text: OptionalText = Field(default=None, description="free text, e.g. an abstract")
    id: str | None = Field(default=None, max_length=64, description="an arXiv id in the index")
    k: K = 10

    @model_validator(mode="after")
    def _one_query(self) -> SearchRequest:
        has_text = bool((self.text or "").strip())
        if has_text == bool(self.id):
            raise ValueError("give exactly one of `text` (non-empty) or `id`")
        return self


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
