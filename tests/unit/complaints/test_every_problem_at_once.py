"""A complaint, a closing or a suggestion with several problems is told of every one in one 422,
each naming its field (a citizen's form is not refused a second time for what the first refusal
left out), and nothing is stored; a request with one problem is answered as before. The routes
run in process on the in-memory stores (the app is built, not started: no database, no Kafka)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.complaints.app import build
from services.complaints.domain import InvalidComplaint
from services.complaints.settings import ComplaintsSettings
from tests.support.signing import LocalSigner
from tests.unit.complaints.conftest import T0, World, count, submission

SIGNER = LocalSigner()
APP = build(SIGNER.offline(ComplaintsSettings, public_burst=1000))


def complaint(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complainant": {"name": "张三", "phone": "13812345678"},
        "market_id": "mkt_1",
        "merchant_id": "mer_1",
        "category": "short_weight",
        "facts": "称重少了二两",
        "request": "退还差价",
    }
    return body | changes


def suggestion(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"about": "market", "market_id": "mkt_1", "text": "建议增加公平秤"}
    return body | changes


async def _post(world: World, path: str, body: Any, role: str | None = None) -> httpx.Response:
    APP.state.complaints, APP.state.suggestions = world.complaints, world.suggestions
    headers = SIGNER.bearer(role, "zhifu") if role else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://svc"
    ) as http:
        return await http.post(path, json=body, headers=headers)


def problems(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {e["field"]: e["reason"] for e in r.json()["errors"]}


def stored_nothing(world: World) -> None:
    assert world.complaints_store.rows == {} and world.suggestions_store.rows == {}
    assert world.uow.published == [] and world.uow.commits == 0


# -- a complaint (POST /complaints, public) ------------------------------------------------------


async def test_a_bad_phone_and_an_unknown_market_are_one_422(world: World) -> None:
    body = complaint(complainant={"name": "张三", "phone": "12345"}, market_id="mkt_nowhere")
    body.pop("merchant_id")
    found = problems(await _post(world, "/complaints", body))
    assert list(found) == ["complainant.phone", "market_id"]
    assert found["market_id"] == "no market 'mkt_nowhere' is registered"
    stored_nothing(world)


async def test_a_blank_fact_a_merchant_of_another_market_and_a_future_day_are_one_422(
    world: World,
) -> None:
    later = (T0 + timedelta(days=400)).isoformat()
    body = complaint(facts="  ", merchant_id="mer_nobody", occurred_at=later)
    found = problems(await _post(world, "/complaints", body))
    assert set(found) == {"facts", "merchant_id", "occurred_at"}
    assert found["merchant_id"] == "no merchant 'mer_nobody' trades in this market"
    assert found["occurred_at"] == "must not be in the future"
    stored_nothing(world)


async def test_a_complaint_with_one_problem_is_answered_as_before(world: World) -> None:
    body = complaint(complainant={"name": "张三", "phone": "12345"})
    r = await _post(world, "/complaints", body)
    assert r.status_code == 422
    reason = "String should match pattern '^(1[3-9]\\d{9}|0\\d{2,3}-?\\d{7,8})$'"
    assert r.json() == {
        "error": "invalid_input",
        "message": f"complainant.phone: {reason}",
        "errors": [{"field": "complainant.phone", "reason": reason}],
    }
    r = await _post(world, "/complaints", complaint(market_id="mkt_nowhere", merchant_id=None))
    assert r.json() == {
        "error": "invalid_input",
        "message": "market_id: no market 'mkt_nowhere' is registered",
        "errors": [{"field": "market_id", "reason": "no market 'mkt_nowhere' is registered"}],
    }
    stored_nothing(world)
    assert (await _post(world, "/complaints", complaint())).status_code == 201


async def test_an_unknown_market_and_a_future_day_are_told_together_by_the_use_case(
    world: World,
) -> None:
    later = (T0 + timedelta(days=2)).isoformat()
    sub = submission(market_id="mkt_nowhere", merchant_id=None, occurred_at=later)
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.submit(sub, via="http")
    assert [e["field"] for e in refused.value.errors] == ["market_id", "occurred_at"]
    # Counted once, by the first field, as a refusal always was.
    assert count(world.metrics.intake_rejected, "http", "market_id") == 1
    stored_nothing(world)


# -- closing a complaint (POST /complaints/{id}/close, a handler) -------------------------------


async def test_a_closing_without_satisfaction_is_told_it_cannot_be_substantiated_too(
    world: World,
) -> None:
    case = await world.complaints.submit(submission(), via="http")
    path = f"/complaints/{case.complaint_id}"
    assert (await _post(world, f"{path}/accept", None, "handler")).status_code == 200
    before = await world.complaints_store.get(case.complaint_id)
    body = {"outcome": "unfounded", "substantiated": True}  # no satisfaction, not even null
    found = problems(await _post(world, f"{path}/close", body, "handler"))
    assert set(found) == {"satisfaction", "substantiated"}
    assert found["substantiated"] == "a complaint closed as unfounded cannot be substantiated"
    assert await world.complaints_store.get(case.complaint_id) == before
    # One problem, as before: the rule alone, or the model alone.
    body = {"outcome": "unfounded", "substantiated": True, "satisfaction": 3}
    assert list(problems(await _post(world, f"{path}/close", body, "handler"))) == ["substantiated"]
    body = {"outcome": "mediated", "substantiated": True, "satisfaction": 9}
    assert list(problems(await _post(world, f"{path}/close", body, "handler"))) == ["satisfaction"]
    assert await world.complaints_store.get(case.complaint_id) == before


async def test_a_complainant_not_reached_for_a_rating_is_closed_with_no_satisfaction(
    world: World,
) -> None:
    """未能回访: a handler who cannot reach the complainant says so with a null satisfaction,
    rather than hold the case open past its limit or make a rating up; leaving the field out is
    still refused, so a closing always says which."""
    case = await world.complaints.submit(submission(), via="http")
    path = f"/complaints/{case.complaint_id}"
    assert (await _post(world, f"{path}/accept", None, "handler")).status_code == 200
    before = await world.complaints_store.get(case.complaint_id)
    body: dict[str, object] = {"outcome": "mediated", "substantiated": True}
    assert list(problems(await _post(world, f"{path}/close", body, "handler"))) == ["satisfaction"]
    assert await world.complaints_store.get(case.complaint_id) == before
    r = await _post(world, f"{path}/close", body | {"satisfaction": None}, "handler")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["satisfaction"]) == ("closed", None)
    closed = await world.complaints_store.get(case.complaint_id)
    assert closed is not None and (closed.state, closed.satisfaction) == ("closed", None)
    assert count(world.metrics.satisfaction, "unreached") == 1
    assert world.types()[-1] == "complaints.complaint.closed"


# -- a suggestion (POST /suggestions, public) -----------------------------------------------------


async def test_a_suggestions_bad_phone_and_unknown_market_are_one_422(world: World) -> None:
    found = problems(
        await _post(world, "/suggestions", suggestion(phone="12345", market_id="mkt_nowhere"))
    )
    assert list(found) == ["phone", "market_id"]
    assert found["market_id"] == "no market 'mkt_nowhere' is registered"
    found = problems(await _post(world, "/suggestions", suggestion(about="nothing", text=" ")))
    assert set(found) == {"about", "text"}
    stored_nothing(world)


async def test_a_suggestion_with_one_problem_is_answered_as_before(world: World) -> None:
    r = await _post(world, "/suggestions", suggestion(market_id="mkt_nowhere"))
    assert r.status_code == 422
    assert r.json() == {
        "error": "invalid_input",
        "message": "market_id: no market 'mkt_nowhere' is registered",
        "errors": [{"field": "market_id", "reason": "no market 'mkt_nowhere' is registered"}],
    }
    assert list(problems(await _post(world, "/suggestions", suggestion(phone="12345")))) == [
        "phone"
    ]
    stored_nothing(world)
    assert (await _post(world, "/suggestions", suggestion())).status_code == 201
