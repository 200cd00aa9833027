"""422 answers that name each fault once.

A body that is a union of models (`/search`, `/classify`, `/recommend`) is checked against every variant, and
pydantic reports every variant's errors: a bad `since` beside `like_texts` came back as five errors, the first
"like: Field required". This keeps the errors of the variant the client meant (the one whose required key the
body has, with the fewest errors), without the variant's name in `loc`; a body that has no variant's required
key gets one error naming them all, plus the faults every variant shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

Error = dict[str, Any]


def union_variants(bodies: Iterable[Any]) -> set[str]:
    """The names of the models that the union bodies among `bodies` are made of."""
    return {
        member.__name__
        for body in bodies
        for member in get_args(body)
        if isinstance(member, type) and issubclass(member, BaseModel)
    }


def _without_variant(error: Error) -> Error:
    return {**error, "loc": (error["loc"][0], *error["loc"][2:])}


def _key(error: Error) -> tuple:
    return tuple(error["loc"]), error["type"]


def one_error_per_fault(errors: Sequence[Error], variants: set[str]) -> list[Error]:
    """`errors` with a union body's variants folded into the one the client meant (see the module's docstring)."""
    by_variant: dict[str, list[Error]] = {}
    plain = []
    for error in errors:
        loc = error["loc"]
        if len(loc) > 1 and loc[0] == "body" and loc[1] in variants:
            by_variant.setdefault(loc[1], []).append(_without_variant(error))
        else:
            plain.append(error)
    if not by_variant:
        return list(errors)
    missing = {name: [e for e in found if e["type"] == "missing"] for name, found in by_variant.items()}
    meant = [name for name in by_variant if not missing[name]]
    if meant:
        return plain + min((by_variant[name] for name in meant), key=len)
    required = sorted({str(e["loc"][-1]) for found in missing.values() for e in found})
    shared = [
        e
        for e in next(iter(by_variant.values()))
        if e["type"] != "missing" and all(_key(e) in map(_key, found) for found in by_variant.values())
    ]
    one_of = {"type": "missing", "loc": ("body",), "msg": f"Field required: one of {', '.join(required)}"}
    return [*plain, {**one_of, "input": missing[next(iter(missing))][0].get("input")}, *shared]


def answer_validation_errors(app: FastAPI, bodies: Iterable[Any]) -> None:
    """Answer a request the schema refuses as FastAPI does (422, `detail`: the errors), each fault named once."""
    variants = union_variants(bodies)

    async def refuse(request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, RequestValidationError)
        detail = one_error_per_fault(err.errors(), variants)
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    app.add_exception_handler(RequestValidationError, refuse)
