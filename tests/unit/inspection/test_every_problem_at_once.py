"""A completion or a re-check (复查) with several problems is told of every one in one 422, each
naming its field (a missing outcome no longer hides an unknown finding code), and nothing is
stored; one problem is answered as before. The routes run in process on the fake stores (the
app is built, not started: no database, no Kafka)."""

from __future__ import annotations

from typing import Any

import httpx

from services.inspection.app import build
from services.inspection.domain import FindingReport
from services.inspection.settings import InspectionSettings
from services.runtime.auth import Principal
from tests.support.signing import LocalSigner
from tests.unit.inspection.conftest import World, open_task

SIGNER = LocalSigner()
APP = build(SIGNER.offline(InspectionSettings))
# The inspector the token names (tests/support/signing.py: subject `<role>-<district>`).
INSPECTOR = Principal("inspector-zhifu", "inspector", "zhifu")


async def _post(world: World, path: str, body: Any) -> httpx.Response:
    APP.state.inspection = world.service
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://svc"
    ) as http:
        return await http.post(path, json=body, headers=SIGNER.bearer("inspector", "zhifu"))


def problems(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {e["field"]: e["reason"] for e in r.json()["errors"]}


async def claimed(world: World) -> str:
    task_id = await open_task(world)
    await world.service.claim(INSPECTOR, task_id)
    return task_id


async def test_a_missing_outcome_and_an_unknown_finding_code_are_one_422(world: World) -> None:
    task_id = await claimed(world)
    before = await world.stores.tasks.get(task_id)
    published = len(world.uow.published)
    body = {"findings": [{"code": "NOPE-01"}], "departments": ["police"]}
    found = problems(await _post(world, f"/tasks/{task_id}/complete", body))
    assert found == {
        "outcome": "Field required",
        "findings.0.code": "unknown finding code 'NOPE-01'",
        "departments.0": "must be one of market_regulation, health, environment",
    }
    assert await world.stores.tasks.get(task_id) == before
    assert len(world.uow.published) == published


async def test_an_outcome_too_long_a_photo_not_of_the_task_and_a_long_note_are_one_422(
    world: World,
) -> None:
    task_id = await claimed(world)
    body = {
        "outcome": "x" * 40,
        "findings": [{"code": "CCH-01", "note": "n" * 3000}],
        "photos": ["pho_nobody"],
    }
    found = problems(await _post(world, f"/tasks/{task_id}/complete", body))
    assert set(found) == {"outcome", "findings.0.note", "photos.0"}
    assert found["photos.0"] == "no photo 'pho_nobody' of this task"


async def test_a_completion_with_one_problem_is_answered_as_before(world: World) -> None:
    task_id = await claimed(world)
    r = await _post(world, f"/tasks/{task_id}/complete", {"findings": []})
    assert r.json() == {
        "error": "invalid_input",
        "message": "outcome: Field required",
        "errors": [{"field": "outcome", "reason": "Field required"}],
    }
    body = {"outcome": "major", "findings": [{"code": "NOPE-01"}]}
    r = await _post(world, f"/tasks/{task_id}/complete", body)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "findings.0.code", "reason": "unknown finding code 'NOPE-01'"}
    ]
    body = {"outcome": "major", "findings": [{"code": "CCH-01"}]}
    assert (await _post(world, f"/tasks/{task_id}/complete", body)).status_code == 200


async def test_a_task_not_found_is_told_its_fields_then_answers_404(world: World) -> None:
    task_id = await claimed(world)
    r = await _post(world, f"/tasks/{task_id}x/complete", {"photos": ["pho_1"]})
    assert problems(r) == {"outcome": "Field required"}
    r = await _post(world, f"/tasks/{task_id}x/complete", {"outcome": "pass"})
    assert r.status_code == 404


async def test_a_recheck_without_its_result_is_told_its_note_is_too_long_too(
    world: World,
) -> None:
    task_id = await claimed(world)
    _, order = await world.service.complete(
        INSPECTOR,
        task_id,
        outcome="major",
        findings=[FindingReport("CCH-01", "")],
        departments=[],
        note=None,
    )
    assert order is not None
    path = f"/rectifications/{order.rectification_id}/verify"
    before = await world.stores.orders.get(order.rectification_id)
    found = problems(await _post(world, path, {"note": "n" * 3000, "photos": ["pho_nobody"]}))
    assert set(found) == {"passed", "note", "photos.0"}
    assert await world.stores.orders.get(order.rectification_id) == before
    # One problem, as before.
    assert list(problems(await _post(world, path, {"passed": True, "note": "n" * 3000}))) == [
        "note"
    ]
    assert list(problems(await _post(world, path, {"note": "好"}))) == ["passed"]
    assert await world.stores.orders.get(order.rectification_id) == before


async def test_the_model_and_the_rules_name_list_items_alike_in_one_422(world: World) -> None:
    """A list item the model refuses and one the rules refuse are named the same way
    (`findings.0.note`, `photos.0`: the dotted path docs/campaign.md shows), so a form can place
    both by one pattern."""
    task_id = await claimed(world)
    body = {
        "outcome": "minor",
        "findings": [{"code": "CCH-01", "note": 5}],
        "photos": ["pho_nobody"],
    }
    found = problems(await _post(world, f"/tasks/{task_id}/complete", body))
    assert set(found) == {"findings.0.note", "photos.0"}
