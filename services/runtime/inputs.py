"""Text a service can store: no NUL character and no lone surrogate, in any input.

PostgreSQL's `text` holds neither, and JSON and URLs carry both (`\\u0000`, `%00`, `\\ud800`):
a request with one used to reach a query and fail there with a 500. `text_inputs`, a router
dependency, checks every path and query parameter and every string in a JSON body (keys too)
first, and answers 422 naming the field, before anything is read or written. `Strict` is the
base of every request body.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from services.runtime.errors import InvalidInput


class Strict(BaseModel):
    """A request body: a field it does not declare is refused (422 naming it), text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


NUL_REASON = "must not contain the NUL character (U+0000)"
SURROGATE_REASON = "must be valid Unicode text (a lone surrogate is not)"


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return NUL_REASON
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_REASON
    return None


def _first_unstorable(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        reason = unstorable(value)
        return (path or "body", reason) if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            reason = unstorable(str(key))
            if reason:
                return where, reason
            found = _first_unstorable(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def storable_router() -> APIRouter:
    """A service's API router: text Postgres cannot hold (NUL, lone surrogates) is refused up
    front by `text_inputs`, naming the field, before any route reads it."""
    return APIRouter(dependencies=[Depends(text_inputs)])


async def text_inputs(request: Request) -> None:
    """422 for the first path or query parameter, or JSON body string, that cannot be stored."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str) and (reason := unstorable(value)):
            raise InvalidInput(name, reason)
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    # In JSON text both can only be written as escapes.
    if b"\\u" not in body:
        return
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON (or nested too deep): the endpoint's own parsing says so
    found = _first_unstorable(parsed, "")
    if found:
        raise InvalidInput(*found)
