"""Request and response models; the request models' constraints are the limits of the settings an app is built with.

`request_models(cfg, dim)` builds the request models for one app, so `create_app(cfg=Settings(max_k=5))` refuses k=6
and documents k ≤ 5 in its `/openapi.json`. Every constraint is in the JSON schema, so a client generated from it
cannot send a request the server refuses: non-blank text is a pattern, the one-of rules are two variants of a body.
"""

import datetime as dt
import functools
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from arxiv_embed.encode.runtime_choice import RuntimeChoice
from arxiv_embed.recommend.library_files import LIBRARY_FORMATS
from arxiv_embed.recommend.methods import RECOMMENDERS
from arxiv_embed.search.modes import SEARCH_MODES
from serve.settings import Settings

SearchModeName = Literal[tuple(SEARCH_MODES)]  # type: ignore[valid-type]
MethodName = Literal[tuple(RECOMMENDERS)]  # type: ignore[valid-type]

SINCE = (
    "only papers first announced on or after this date: a first version at most 7 days before it, or, dated only "
    "by the arXiv id, of a month that does not end before it"
)
FEED_SINCE = f"{SINCE}; default: every day of the last harvest (before any harvest: every paper)"
PaperId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$", description="an arXiv id in the index")]


@dataclass(frozen=True)
class RequestModels:
    """The request bodies of one app, with its limits."""

    embed: type[BaseModel]
    classify: Any  # a union of three models: one free text, by title or by abstract
    classify_by_text: type[BaseModel]
    search: Any  # a union: SearchByText | SearchById
    search_by_id: type[BaseModel]
    embeddings: type[BaseModel]  # OpenAI's POST /v1/embeddings
    recommend: Any  # a union: a library given by ids, by texts or as a file of each format (any may add the others)
    library: Any  # the same union without `since`: a library to save (POST and PUT /libraries)
    library_edit: type[BaseModel]  # PATCH /libraries/{id}: ids added to or removed from a saved library


def request_models(cfg: Settings, dim: int | None = None) -> RequestModels:
    """Request models whose limits are `cfg`'s (text length, batch size, k).

    `dim`, the served dimension where the bundle is known when the app is built, is the one `dimensions` the
    schema offers; any other is answered 400 at run time.
    """
    Text = Annotated[
        str, Field(min_length=1, max_length=cfg.max_text_chars, pattern=r"\S", description="non-blank text")
    ]
    OptionalText = Annotated[str | None, Field(default=None, max_length=cfg.max_text_chars)]
    K = Annotated[int, Field(ge=1, le=cfg.max_k, description="how many results")]

    class EmbedRequest(BaseModel):
        texts: list[Text] = Field(min_length=1, max_length=cfg.max_batch)

    class ClassifyByTitle(BaseModel):
        """A non-blank title, with or without an abstract."""

        model_config = ConfigDict(extra="forbid")  # an unknown key is a mistake to name, not to drop
        title: Text
        abstract: OptionalText = None
        k: K = 5

    class ClassifyByAbstract(BaseModel):
        """A non-blank abstract, with or without a title."""

        model_config = ConfigDict(extra="forbid")
        abstract: Text
        title: OptionalText = None
        k: K = 5

    class ClassifyByText(BaseModel):
        """One free text, as /search takes it (e.g. a title and abstract pasted together)."""

        model_config = ConfigDict(extra="forbid")  # `text` with `title` or `abstract` matches no variant
        text: Text
        k: K = 5

    search_by_text, search_by_id = search_requests(Text, K)
    return RequestModels(
        embed=EmbedRequest,
        classify=ClassifyByText | ClassifyByTitle | ClassifyByAbstract,
        classify_by_text=ClassifyByText,
        search=search_by_text | search_by_id,
        search_by_id=search_by_id,
        embeddings=embeddings_request(cfg, Text, dim),
        recommend=recommend_request(cfg, Text, K),
        library=recommend_request(cfg, Text, K, saved=True),
        library_edit=library_edit_request(cfg, K),
    )


def search_requests(Text: Any, K: Any) -> tuple[type[BaseModel], type[BaseModel]]:  # noqa: N803 - type aliases
    """/search by free text or by the id of an indexed paper; a body with both matches neither."""

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

    return SearchByText, SearchById


def embeddings_request(cfg: Settings, Text: Any, dim: int | None) -> type[BaseModel]:  # noqa: N803 - a type alias
    """OpenAI's embeddings request, with the batch limit of `cfg` and the served dimension when known."""

    class EmbeddingsRequest(BaseModel):
        """OpenAI's embeddings request. `input` is a text or a list of texts; token arrays are not taken."""

        input: Text | Annotated[list[Text], Field(min_length=1, max_length=cfg.max_batch)]
        model: str = Field(
            max_length=256, description="the served model's id (GET /v1/models)", examples=[cfg.served_model_name]
        )
        encoding_format: Literal["float", "base64"] = Field(
            default="float", description="base64: the float32 little-endian bytes of each vector"
        )
        dimensions: int | None = Field(
            default=None,
            ge=1,
            description="only the served dimension: the vectors are not trained to be cut shorter",
            json_schema_extra={"enum": [dim]} if dim else None,
        )
        user: str | None = Field(default=None, max_length=256, description="accepted and ignored")

    return EmbeddingsRequest


def recommend_request(cfg: Settings, Text: Any, K: Any, saved: bool = False) -> Any:  # noqa: N803 - type aliases
    """/recommend's body: a reader's library (liked ids, texts and/or library files; at least one of them), what
    they dislike, what they have seen, and from which date on papers count as new. `saved`: the library that
    /libraries keeps, the same without `since` (its feed chooses the window)."""
    Ids = Annotated[list[PaperId], Field(max_length=cfg.max_library)]
    Texts = Annotated[list[Text], Field(max_length=cfg.max_library)]
    File = Annotated[str, Field(min_length=1, max_length=cfg.max_library_file_chars)]
    files = {
        name: (File | None, Field(default=None, description=f"{what}, the file's text: entries by arXiv id, else text"))
        for name, (_, what) in LIBRARY_FORMATS.items()
    }
    fields: dict[str, Any] = {
        "like": (Ids, Field(default=[], description="arXiv ids of papers in the index that the reader keeps")),
        "like_texts": (Texts, Field(default=[], description="titles and abstracts of papers the reader keeps")),
        **files,
        "dislike": (Ids, Field(default=[], description="ids of papers the reader does not want more of")),
        "dislike_texts": (Texts, Field(default=[], description="texts of papers the reader does not want more of")),
        "exclude": (Ids, Field(default=[], description="ids already seen: never recommended")),
        **({} if saved else {"since": (dt.date | None, Field(default=None, description=SINCE))}),
        "k": (K, 10),
        "method": (
            MethodName | None,
            Field(
                default=None,
                description="; ".join(f"{name}: {m.description}" for name, m in RECOMMENDERS.items())
                + ". Unset: the method that served simulated readers best on val (`/ready` names it).",
            ),
        ),
    }
    required = {
        "like": Annotated[list[PaperId], Field(min_length=1, max_length=cfg.max_library)],
        "like_texts": Annotated[list[Text], Field(min_length=1, max_length=cfg.max_library)],
        **{name: File for name in LIBRARY_FORMATS},
    }
    variants = [
        create_model(
            f"{'Library' if saved else 'Recommend'}By{''.join(part.title() for part in name.split('_'))}",
            __config__=ConfigDict(extra="forbid"),
            __doc__=f"A reader's library with at least one entry in `{name}`.",
            **{**fields, name: (kind, Field(description=fields[name][1].description))},
        )
        for name, kind in required.items()
    ]
    return functools.reduce(operator.or_, variants)


def library_edit_request(cfg: Settings, K: Any) -> type[BaseModel]:  # noqa: N803 - a type alias
    """PATCH /libraries/{id}: what changes in a saved library. Each edit is applied to the library as it is when
    the server gets it, so concurrent edits (a page's pins, a second device) all land."""
    Ids = Annotated[list[PaperId], Field(default=[], max_length=cfg.max_library)]
    return create_model(
        "LibraryEdit",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Ids added to or removed from a saved library's lists, and its `k` or `method`.",
        add_like=(Ids, Field(description="liked ids to add (a pinned paper)")),
        remove_like=(Ids, Field(description="liked ids to remove")),
        add_dislike=(Ids, Field(description="disliked ids to add")),
        remove_dislike=(Ids, Field(description="disliked ids to remove")),
        add_exclude=(Ids, Field(description="seen ids to add: never recommended")),
        k=(K | None, None),
        method=(MethodName | None, Field(default=None, description="the method its feed ranks by")),
    )


class EngineAnswer(BaseModel):
    """A response model that reads the engine's plain result by attribute (`arxiv_embed/engine/results.py`)."""

    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    detail: str


class UnprocessableDetail(BaseModel):
    """A 422: the validation errors of a body or query the schema refuses, or one reason the server gives."""

    detail: str | list[dict[str, Any]]


class EmbedResponse(BaseModel):
    dim: int
    vectors: list[list[float]]


class CategoryScore(EngineAnswer):
    category: str
    probability: float


class ClassifyResponse(EngineAnswer):
    categories: list[CategoryScore]


class Paper(EngineAnswer):
    id: str
    title: str
    category: str
    date: str | None = Field(
        default=None,
        description="the day of its first version (a harvested paper's arXiv `created`), else the month of its arXiv "
        "id (YYYY-MM): a revised paper keeps its date",
    )


class SearchHit(Paper):
    score: float = Field(description="the search mode's score: higher is nearer")
    rank: int = Field(description="1 for the nearest")


class Recommendation(SearchHit):
    similarity: float = Field(description="the cosine similarity of its embedding with the nearest liked paper's")
    nearest_liked: list[str] = Field(
        description="the liked papers it is nearest to (at most 3, within 0.05 in cosine of the nearest), nearest "
        "first: arXiv ids, a library file's entry read as text by its key, a given text as like_texts[i]"
    )


class RecommendResponse(EngineAnswer):
    method: str = Field(description="the method that ranked the papers")
    since: dt.date | None = Field(
        description="only papers first announced on or after it were ranked; null: every paper"
    )
    results: list[Recommendation]
    unused: list[str] = Field(description="BibTeX entries (by key) that have neither an id in the index nor a title")
    library: dict[str, int] = Field(description="how many liked and disliked papers were used, by id and by text")
    note: str | None = Field(default=None, description="why `results` is empty, when it is; else null")
    skipped: list[str] = Field(
        default=[], description="liked ids the index does not hold, left out (the feed; /recommend answers 404)"
    )


class SavedLibraryResponse(BaseModel):
    """A saved library as it is stored, and how the served index reads it now."""

    id: str
    version: int = Field(description='grows by one with each change; `If-Match: "<version>"` on PUT checks it')
    created: str
    updated: str
    library: dict[str, Any] = Field(description="what was saved: the /recommend body without `since`")
    counts: dict[str, int] = Field(description="how many liked and disliked papers the index uses, by id and text")
    unused: list[str] = Field(description="library file entries (by key) with neither an id in the index nor a title")
    skipped: list[str] = Field(description="liked ids the index does not hold: left out of the feed")


class CreatedLibrary(SavedLibraryResponse):
    owner_secret: str = Field(
        description="send as `Authorization: Bearer <owner_secret>` to read, change or delete the library; "
        "answered only now, and stored only as its hash"
    )
    feed_url: str = Field(description="the library's private feed: poll it without headers; keep it private")


class RotatedFeed(BaseModel):
    feed_url: str = Field(description="the new private feed URL; the old one now answers 410")


class SearchResponse(EngineAnswer):
    mode: str
    results: list[SearchHit]


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(description="floats, or base64 of float32 little-endian bytes")


class EmbeddingsUsage(BaseModel):
    prompt_tokens: int = Field(description="tokens the encoder read: special tokens in, truncated ones out")
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="when the served bundle was loaded (Unix seconds)")
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Health(BaseModel):
    status: str


class Provenance(BaseModel):
    git_commit: str | None = Field(description="the commit the bundle was built on (an experiment's baseline)")
    git_dirty: bool | None = Field(description="whether the workspace differed from it (an experiment's params do)")
    experiment: str | None = Field(description="the `dvc exp run` experiment that built it; null for `dvc repro`")


class LearnedFrom(BaseModel):
    train_papers: int = Field(description="labelled papers this side learned from")
    classes: int = Field(description="categories it can name")


class ClassifierSides(BaseModel):
    """What each side of the served classifier learned from: the embedding model from the embedded train split,
    the TF-IDF model from the labelled pool (every paper outside val and test, in the index or not)."""

    model_config = ConfigDict(from_attributes=True)

    embedding: LearnedFrom
    tfidf: LearnedFrom
    weight: float = Field(description="of the embedding model in the blend, chosen on val")
    temperature: float = Field(description="the calibration's, chosen on val")


class Release(BaseModel):
    artifact: str
    version: str = Field(description="the GTO version the bundle was fetched as")
    stage: str | None = Field(description="the stage it was fetched by, e.g. prod; null when fetched by version")
    commit: str = Field(description="the commit that version is registered at")


class Ready(EngineAnswer):
    status: str
    bundle_version: str = Field(description="changes whenever any served file does (a harvest, a retrain)")
    model_name: str
    onnx_variant: str
    encoder_runtime: str = Field(description="what runs the encoder's graph: `onnxruntime` or `openvino`")
    runtime_choice: RuntimeChoice | None = Field(
        description="how the graph's runtime was chosen (`export`: measured on this CPU by the pipeline; "
        "`start`: measured at start on a CPU unlike the pipeline's; `setting`: ARXIV_EMBED_RUNTIME; `default`: the "
        "one installed), with each runtime's texts/s and cosine to fp32; null for a bundle without a choice"
    )
    index_type: str
    index_size: int = Field(description="vectors in the index, withdrawn and replaced papers included")
    corpus_size: int = Field(description="papers that search can return")
    newest_paper_date: str | None = Field(description="OAI datestamp of the newest harvested paper")
    harvest_shards: int
    feed_since: dt.date | None = Field(
        description="a feed's default `since`: the first day of the last harvest; null before any harvest (a feed "
        "then ranks every paper)"
    )
    dim: int
    text_field: str
    search_mode: str = Field(description="the default mode of /search")
    recommend_method: str = Field(description="the method of /recommend chosen on val over every library shape")
    recommend_by_shape: list[dict[str, int | str]] = Field(
        description="the method /recommend serves a library of each shape (papers, primary categories among "
        "them: the nearest shape), chosen on val; empty: recommend_method for every library"
    )
    classifier: ClassifierSides = Field(description="what /classify learned from, side by side")
    provenance: Provenance | None = Field(description="the run that built the bundle; null for a bare models/")
    metrics: dict[str, float | int | str] | None = Field(
        description="the bundle's test metrics (P@10, accuracy and their 95% intervals) from its evaluate stage"
    )
    release: Release | None = Field(description="the registry version and stage; null unless fetched from it")
    artifact_hashes: dict[str, str]
