"""The inspection ledger (检查台账, `GET /inspections`): the tasks of the caller's district
completed in a window, newest first, page after page by keyset, each as `GET /tasks` shows it;
a window or a page's start that cannot be used is refused naming every field at fault. The use
case runs on the fake stores; the route in process on them (the app is built, not started)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from services.inspection.app import build
from services.inspection.domain import FindingReport
from services.inspection.settings import InspectionSettings
from services.inspection.store import MerchantInfo
from services.runtime.auth import Principal
from services.runtime.paging import Position, Window
from tests.support.inspection_builders import T0, D, H, risk
from tests.support.signing import LocalSigner
from tests.unit.inspection.conftest import World, delivery

LI = Principal("inspector-li", "inspector", "zhifu", name="李")
LEADER = Principal("leader-zhifu", "leader", "zhifu")
ELSEWHERE = Principal("inspector-zhao", "inspector", "laishan")
ADMIN = Principal("admin", "admin", "*")
DAY = Window(T0, T0 + D)

SIGNER = LocalSigner()
APP = build(SIGNER.offline(InspectionSettings))


async def inspected(world: World, n: int, at: datetime, *, major: bool = False) -> str:
    """A task about merchant `mer_<n>` (made an hour before `at`), claimed and completed at
    `at`: passed, or with a major finding (which orders a rectification)."""
    world.at(at - H)
    trigger = risk(risk_id=f"risk_{n}", event_id=f"ev_{n}", merchant_id=f"mer_{n}")
    await world.service.trigger(trigger, delivery(n), "inspection-risks", "risk")
    task_id = await open_one(world, f"mer_{n}")
    world.at(at)
    await world.service.claim(LI, task_id)
    found = [FindingReport("CCH-01", "")] if major else []
    outcome = "major" if major else "pass"
    await world.service.complete(
        LI, task_id, outcome=outcome, findings=found, departments=[], note=None
    )
    return task_id


async def open_one(world: World, merchant_id: str) -> str:
    [task] = [
        t
        for t in await world.service.tasks(ADMIN, state="open", market_id=None, limit=99)
        if t.merchant_id == merchant_id
    ]
    return task.task_id


async def ledger(
    world: World,
    who: Principal = LI,
    window: Window = DAY,
    after: Position | None = None,
    *,
    market_id: str | None = None,
    limit: int = 100,
) -> list[str]:
    found = await world.service.inspections(
        who, window=window, after=after, market_id=market_id, limit=limit
    )
    assert all(t.state == "completed" for t in found)
    return [t.task_id for t in found]


async def test_the_ledger_is_the_district_s_inspections_completed_in_the_window_newest_first(
    world: World,
) -> None:
    first = await inspected(world, 1, T0 + H)
    second = await inspected(world, 2, T0 + 2 * H)
    tomorrow = await inspected(world, 3, T0 + D)
    still_open = risk(risk_id="risk_9", event_id="ev_9", merchant_id="mer_9")
    await world.service.trigger(still_open, delivery(9), "inspection-risks", "risk")

    assert await ledger(world) == [second, first]
    assert await ledger(world, LEADER) == [second, first]
    assert await ledger(world, limit=1) == [second]
    assert await ledger(world, window=Window(T0 + D, T0 + 2 * D)) == [tomorrow]
    assert await ledger(world, ELSEWHERE) == []
    assert await ledger(world, ADMIN, Window()) == [tomorrow, second, first]


async def test_each_district_reads_its_own_inspections_a_city_wide_reader_all(
    world: World,
) -> None:
    ours = await inspected(world, 1, T0 + H)
    done = await world.stores.tasks.get(ours)
    assert done is not None
    await world.stores.tasks.save(replace(done, task_id="tsk_laishan", district="laishan"))

    assert await ledger(world) == [ours]
    assert await ledger(world, ELSEWHERE) == ["tsk_laishan"]
    # Completed at one instant: by id, descending.
    assert await ledger(world, ADMIN) == ["tsk_laishan", ours]


async def test_pages_follow_one_another_from_each_page_s_last_inspection(world: World) -> None:
    made = [await inspected(world, n, T0 + n * H) for n in (1, 2, 3)]
    listed: list[str] = []
    after = None
    for _ in range(4):
        page = await world.service.inspections(LI, window=DAY, after=after, market_id=None, limit=1)
        if not page:
            break
        [task] = page
        assert task.completed_at is not None
        listed.append(task.task_id)
        after = Position(task.completed_at, task.task_id)
    assert listed == made[::-1]


async def test_the_ledger_is_filtered_by_market_in_the_district(world: World) -> None:
    here = await inspected(world, 1, T0 + H)
    done = await world.stores.tasks.get(here)
    assert done is not None
    await world.stores.tasks.save(replace(done, task_id="tsk_mkt_2", market_id="mkt_2"))
    assert await ledger(world, market_id="mkt_1") == [here]
    assert await ledger(world, market_id="mkt_2") == ["tsk_mkt_2"]
    assert await ledger(world, ELSEWHERE, market_id="mkt_2") == []


async def test_an_inspection_keeps_the_stall_where_it_was_when_its_merchant_moves(
    world: World,
) -> None:
    task_id = await inspected(world, 1, T0 + H)
    world.directory.merchants["mer_1"] = MerchantInfo(
        "mer_1", "mkt_1", "zhifu", "C-01", "active", 2
    )
    [task] = await world.service.inspections(LI, window=DAY, after=None, market_id=None, limit=9)
    assert (task.task_id, task.stall_no) == (task_id, "A-12")


async def test_the_rectification_ledger_is_the_district_s_orders_made_in_the_window(
    world: World,
) -> None:
    orders = []
    for n in (1, 2):
        task = await world.stores.tasks.get(await inspected(world, n, T0 + n * H, major=True))
        assert task is not None and task.rectification_id is not None
        orders.append(task.rectification_id)

    async def issued(who: Principal, after: Position | None = None, limit: int = 9) -> list:
        found = await world.service.orders_issued(
            who, window=DAY, after=after, market_id=None, limit=limit
        )
        return [o.rectification_id for o in found]

    assert await issued(LI) == orders[::-1]
    [newest] = await world.service.orders_issued(
        LI, window=DAY, after=None, market_id=None, limit=1
    )
    assert await issued(LI, Position(newest.ordered_at, newest.rectification_id)) == orders[:1]
    assert await issued(ELSEWHERE) == []


# -- the route -----------------------------------------------------------------------------------


async def get(world: World, params: dict[str, Any], role: str = "inspector") -> httpx.Response:
    APP.state.inspection = world.service
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://svc"
    ) as http:
        return await http.get("/inspections", params=params, headers=SIGNER.bearer(role, "zhifu"))


def problems(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input"
    return {e["field"]: e["reason"] for e in r.json()["errors"]}


async def test_the_route_pages_with_next_until_a_page_is_not_full(world: World) -> None:
    made = [await inspected(world, n, T0 + n * H) for n in (1, 2)]
    window = {"completed_from": T0.isoformat(), "completed_before": (T0 + D).isoformat()}
    r = await get(world, {**window, "limit": 1})
    assert r.status_code == 200, r.text
    first = r.json()
    assert [t["id"] for t in first["items"]] == [made[1]]
    assert first["items"][0]["state"] == "completed" and "due_rule" in first["items"][0]
    second = (await get(world, {**window, "limit": 1, "after": first["next"]})).json()
    assert [t["id"] for t in second["items"]] == [made[0]]
    third = (await get(world, {**window, "limit": 1, "after": second["next"]})).json()
    assert third == {"items": [], "next": None}
    whole = (await get(world, {**window, "limit": 3})).json()
    assert [t["id"] for t in whole["items"]] == made[::-1] and whole["next"] is None
    # A leader of the district reads it too; a clerk does not.
    assert (await get(world, window, "leader")).status_code == 200
    assert (await get(world, window, "clerk")).status_code == 403


async def test_a_window_without_offsets_and_a_bad_token_are_one_422(world: World) -> None:
    found = problems(
        await get(
            world,
            {
                "completed_from": "2026-11-01T00:00:00",
                "completed_before": "2026-10-01T00:00:00",
                "after": "not-a-token",
            },
        )
    )
    assert set(found) == {"completed_from", "completed_before", "after"}
    assert found["completed_from"].startswith("must carry a UTC offset")
    assert found["completed_before"].startswith("must carry a UTC offset")


async def test_a_window_ending_where_it_starts_is_refused_naming_its_end(world: World) -> None:
    at = "2026-11-01T00:00:00+08:00"
    found = problems(await get(world, {"completed_from": at, "completed_before": at}))
    assert found == {"completed_before": "must come after completed_from"}


async def test_instants_postgres_could_not_be_given_are_refused_not_failed(world: World) -> None:
    """A token hides its id from the checks of query text: a NUL in it, or an instant Python
    cannot tell in UTC, would fail in the query (a 500) instead of being refused."""
    with_nul = Position(T0, "tsk_\x00").token()
    edge = Position(datetime.fromisoformat("0001-01-01T00:00:00+01:00"), "tsk_1").token()
    for token in (with_nul, edge):
        assert set(problems(await get(world, {"after": token}))) == {"after"}
    found = problems(
        await get(
            world,
            {
                "completed_from": "0001-01-01T00:00:00+01:00",
                "completed_before": "9999-12-31T23:59:59-01:00",
            },
        )
    )
    assert set(found) == {"completed_from", "completed_before"}


async def test_a_limit_outside_1_to_1000_is_refused(world: World) -> None:
    for limit in (0, 1001):
        assert set(problems(await get(world, {"limit": limit}))) == {"limit"}
