"""The error answers of the operator API as the OpenAPI document describes them.

Every error the API answers itself is ``{"detail": "<a sentence>"}`` (FastAPI's
``HTTPException``); a body FastAPI refuses before the endpoint runs is a 422 whose ``detail`` lists
the problems. An endpoint documents each error it can answer with :func:`errors`, so a client
reading the document knows every status code to expect and what its body holds. The 401 of the
routers behind the admin token is documented once, where they are mounted (``api/app.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "INVALID_BODY",
    "STATION_CALL",
    "UNAUTHORIZED",
    "UNKNOWN_STATION",
    "ErrorOut",
    "InvalidOut",
    "errors",
]


class ErrorOut(BaseModel):
    """An error answer."""

    detail: str = Field(description="What went wrong, as a sentence")


class InvalidOut(BaseModel):
    """A 422: values the endpoint refused (a sentence), or a body that does not parse into the
    documented schema (FastAPI lists each problem: ``loc``, ``msg``, ``type``)."""

    detail: str | list[dict[str, Any]]


Responses = dict[int | str, dict[str, Any]]


def errors(described: Mapping[int, str], model: type[BaseModel] = ErrorOut) -> Responses:
    """OpenAPI ``responses`` for error answers: status code → when it happens."""
    return {code: {"model": model, "description": text} for code, text in described.items()}


UNAUTHORIZED: Responses = errors(
    {401: "Missing or invalid bearer token (Authorization: Bearer <admin token>)"}
)
"""The 401 of every route behind the admin token."""

INVALID_BODY: Responses = errors(
    {422: "The body or a parameter does not fit the schema, or breaks a rule (detail says which)"},
    InvalidOut,
)
"""A 422 for an endpoint that refuses values itself as well as unparsable bodies."""

UNKNOWN_STATION: Responses = errors({404: "Unknown station"})

STATION_CALL: Responses = errors(
    {
        409: "The station is not connected (or disconnected before answering)",
        502: "The station answered a CALLERROR or an invalid CALLRESULT, or nothing within "
        "call_timeout",
    }
) | errors({422: "The values make a payload the OCPP schema refuses"}, InvalidOut)
"""The errors of an endpoint that sends a CALL to the station (``api/station_calls.py``)."""
