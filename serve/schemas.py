"""Request and response models; the request models' constraints are the limits of the settings an app is built with.

`request_models(cfg)` builds the request models for one app, so `create_app(cfg=Settings(max_k=5))` refuses k=6
and documents k ≤ 5 in its `/openapi.json`. Every constraint is in the JSON schema, so a client generated from it
cannot send a request the server refuses: non-blank text is a pattern, the one-of rules are two variants of a body.
"""

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arxiv_embed.search.modes import SEARCH_MODES
from serve.settings import Settings

SearchModeName = Literal[tuple(SEARCH_MODES)]  # type: ignore[valid-type]

PaperId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$", description="an arXiv id in the index")]


@dataclass(frozen=True)
class RequestModels:
    """The request bodies of one app, with its limits."""

    embed: type[BaseModel]
    classify: Any  # a union of two models: by title or by abstract
    search: Any  # a union: SearchByText | SearchById
    search_by_id: type[BaseModel]


def request_models(cfg: Settings) -> RequestModels:
    """Request models whose limits are `cfg`'s (text length, batch size, k)."""
    Text = Annotated[
        str, Field(min_length=1, max_length=cfg.max_text_chars, pattern=r"\S", description="non-blank text")
    ]
    OptionalText = Annotated[str | None, Field(default=None, max_length=cfg.max_text_chars)]
    K = Annotated[int, Field(ge=1, le=cfg.max_k, description="how many results")]

    class EmbedRequest(BaseModel):
        texts: list[Text] = Field(min_length=1, max_length=cfg.max_batch)

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

    class SearchByText(BaseModel):
        """Papers near free text, e.g. an abstract."""

        model_config = ConfigDict(extra="forbid")  # `text` and `id` together match neither variant
        text: Text
        k: K = 10
        mode: SearchModeName | None = Field(
            default=None,
            description="; ".join(f"{name}: {m.score}" for name, m in SEARCH_MODES.items())
            + ". Unset: the mode that searched best on the validation split (`/ready` names it).",
        )

    class SearchById(BaseModel):
        """Papers near a paper of the index."""

        model_config = ConfigDict(extra="forbid")
        id: PaperId
        k: K = 10

    return RequestModels(
        embed=EmbedRequest,
        classify=ClassifyByTitle | ClassifyByAbstract,
        search=SearchByText | SearchById,
        search_by_id=SearchById,
    )


class ErrorDetail(BaseModel):
    detail: str


class EmbedResponse(BaseModel):
    dim: int
    vectors: list[list[float]]


class CategoryScore(BaseModel):
    category: str
    probability: float


class ClassifyResponse(BaseModel):
    categories: list[CategoryScore]


class Paper(BaseModel):
    id: str
    title: str
    category: str


class SearchHit(Paper):
    score: float = Field(description="the search mode's score: higher is nearer")


class SearchResponse(BaseModel):
    mode: str
    results: list[SearchHit]


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    bundle_version: str = Field(description="changes whenever any served file does (a harvest, a retrain)")
    model_name: str
    onnx_variant: str
    index_type: str
    index_size: int = Field(description="vectors in the index, withdrawn and replaced papers included")
    corpus_size: int = Field(description="papers that search can return")
    newest_paper_date: str | None = Field(description="OAI datestamp of the newest harvested paper")
    harvest_shards: int
    dim: int
    text_field: str
    search_mode: str = Field(description="the default mode of /search")
    artifact_hashes: dict[str, str]
