"""`Sent[Model]` and `fitted`: a body that breaks its model is told, in one 422, of the model's
problems and of those the use case's check finds among the fields that did fit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import Field

from services.runtime import errors
from services.runtime.body_problems import Sent, fitted
from services.runtime.failures import Conflict, InvalidInput, InvalidInputs
from services.runtime.inputs import Strict


class ItemIn(Strict):
    code: str = Field(pattern=r"^[a-z]+$")
    size: int = Field(ge=1)
    colour: str = "red"


def _app(check_raises: Exception | None) -> tuple[TestClient, list[dict[str, Any]]]:
    checked: list[dict[str, Any]] = []
    app = FastAPI()
    errors.install(app)

    async def check(fields: dict[str, Any]) -> None:
        checked.append(fields)
        if check_raises is not None:
            raise check_raises

    @app.post("/items")
    async def add(sent: Sent[ItemIn]) -> dict[str, Any]:
        body = await fitted(sent, check)
        return {"stored": body.model_dump()}

    return TestClient(app), checked


def _fields(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {e["field"]: e["reason"] for e in answer.json()["errors"]}


def test_a_body_that_fits_is_the_model_and_no_check_runs_before_the_route() -> None:
    http, checked = _app(None)
    answer = http.post("/items", json={"code": "abc", "size": 2})
    assert answer.json() == {"stored": {"code": "abc", "size": 2, "colour": "red"}}
    assert checked == []


def test_the_models_problem_and_the_checks_problem_come_in_one_answer() -> None:
    http, checked = _app(InvalidInput("colour", "no such colour"))
    fields = _fields(http.post("/items", json={"code": "ABC", "size": 2, "colour": "mauve"}))
    assert set(fields) == {"code", "colour"}
    assert fields["colour"] == "no such colour"
    # The check saw only what fitted, validated (the broken code is not among them).
    assert checked == [{"size": 2, "colour": "mauve"}]


def test_a_check_does_not_name_again_a_field_the_model_already_refused() -> None:
    http, _ = _app(InvalidInputs([("code", "taken"), ("size", "too large")]))
    fields = _fields(http.post("/items", json={"code": "ABC", "size": 2}))
    assert set(fields) == {"code", "size"}
    assert fields["size"] == "too large" and fields["code"] != "taken"


@pytest.mark.parametrize("body", [["not", "an", "object"], "text"])
def test_a_body_that_is_not_an_object_is_named_and_no_field_of_it_is_checked(body: Any) -> None:
    http, checked = _app(None)
    assert list(_fields(http.post("/items", json=body))) == ["body"]
    assert checked == [{}]


def test_what_is_not_a_field_problem_waits_until_the_fields_are_right() -> None:
    http, _ = _app(Conflict("stall taken"))
    fields = _fields(http.post("/items", json={"code": "ABC", "size": 2}))
    assert list(fields) == ["code"]
