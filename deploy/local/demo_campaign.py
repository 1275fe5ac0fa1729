"""Seed a demo campaign through the campaign service's HTTP API, on whatever city is registered.

    from deploy.local.demo_campaign import seed_demo_campaign
    seed_demo_campaign(env["CAMPAIGN_URL"], env["SENTINEL_ADMIN_TOKEN"], env["REGISTRY_URL"])

or `python -m deploy.local.demo_campaign` (CAMPAIGN_URL, REGISTRY_URL and SENTINEL_ADMIN_TOKEN
from the environment, e.g. `source .run/env`). Demo seeding is the demo's, not the service's: it
only calls the campaign service's API. Idempotent: a city that has the demo campaign is left
alone. The city (districts, markets, task forces) is read from the registry; the campaign service
learns it from the registry's topics, so the seeding waits until it knows every market.

The campaign was mobilised on 10 March of the latest year whose deadlines have all passed.
Every district but one did everything on time: work plan and leadership structure the day after
mobilisation, a deployment meeting in April, task forces within a week, renovation plans
approved; in each on-time district one market is under construction with a failed safety check
(publicly disclosed) and the next is renovated and accepted. The failed check is dated a few days
before today, so the operator's 整改 task it opens in inspection is due within its 15 days rather
than months overdue on every inspector's list. The late district (the one with the
fewest markets) submitted its leadership structure three days late and recorded neither its
deployment meeting, nor its markets' task forces, nor their renovation plans' approval: the
campaign clock flags those, and they show on `GET /public/disclosures`. Its markets' task forces
are then recorded as set up late, on the 30th day: the registry shows them (the demo city gives
every market one), so a page saying they were still missing would contradict it; the disclosure
stays, resolved, saying when they were done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

DEMO_NAME = "农贸市场提升改造专项行动（演示）"
# How long to wait for the campaign service to learn the registered city from the topics.
CATCH_UP_S = 120.0
# How many days before the seeding the failed safety check is dated.
FAILED_CHECK_AGE_DAYS = 3


def demo_mobilisation(today: date) -> date:
    """10 March of the latest year whose spring deadlines (to 60 days on) have all passed."""
    year = today.year if today >= date(today.year, 6, 1) else today.year - 1
    return date(year, 3, 10)


def late_district(districts: list[str], markets: dict[str, list[dict[str, Any]]]) -> str:
    """The district that is late in the demo: the fewest markets, then the last by code."""
    return min(sorted(districts, reverse=True), key=lambda d: len(markets.get(d, [])))


def seed_demo_campaign(
    base_url: str,
    token: str,
    registry_url: str,
    *,
    today: date | None = None,
    districts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Seed the demo campaign on the campaign service at `base_url`, for the city registered at
    `registry_url`, with an admin `token`; returns what was done (`seeded: false` when the
    campaign exists)."""
    import httpx  # the demo's client; not a dependency of the service itself

    async def run() -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as http,
            httpx.AsyncClient(base_url=registry_url, headers=headers, timeout=10) as city,
        ):
            return await seed(http, city, today=today, districts=districts)

    return asyncio.run(run())


async def seed(
    http: httpx.AsyncClient,
    city: httpx.AsyncClient,
    *,
    today: date | None = None,
    districts: Sequence[str] | None = None,
    catch_up_s: float = CATCH_UP_S,
) -> dict[str, Any]:
    """The seeding itself: `http` on the campaign service and `city` on the registry, both
    carrying an admin token; `districts` limits the campaign to those (default: every
    registered district that has a market)."""
    today = today or date.today()

    async def call(method: str, path: str, body: Any = None, on: Any = http) -> Any:
        response = await on.request(method, path, json=body)
        if response.is_error:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    for existing in (await call("GET", "/campaigns"))["items"]:
        if existing["name"] == DEMO_NAME:
            return {"seeded": False, "campaign_id": existing["id"]}
    registered = (await call("GET", "/markets", on=city))["items"]
    codes = sorted(districts or {m["district"] for m in registered})
    if not codes:
        raise RuntimeError("no markets registered: seed the demo city first")
    markets: dict[str, list[dict[str, Any]]] = {d: [] for d in codes}
    for market in registered:
        if market["district"] in markets:
            markets[market["district"]].append(market)
    late = late_district(codes, markets)
    deadline = time.monotonic() + catch_up_s
    mob = demo_mobilisation(today)
    year = mob.year

    def day(offset: int) -> str:
        return (mob + timedelta(days=offset)).isoformat()

    body = {"name": DEMO_NAME, "mobilisation_date": mob.isoformat(), "districts": codes}
    while True:  # until the campaign service knows every district (through its markets)
        response = await http.post("/campaigns", json=body)
        if response.status_code != 422 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    if response.is_error:
        raise RuntimeError(f"POST /campaigns: {response.status_code} {response.text}")
    cid = response.json()["id"]
    await _known(call, cid, markets, deadline)

    async def district_milestone(code: str, kind: str, body: dict[str, Any]) -> None:
        await call("PUT", f"/campaigns/{cid}/districts/{code}/milestones/{kind}", body)

    projects: list[str] = []
    for n, code in enumerate(codes, start=1):
        on_time = code != late
        await district_milestone(
            code,
            "work_plan_submitted",
            {"achieved_on": day(1), "documents": [f"{code}政办发〔{year}〕{n * 10 + 1}号"]},
        )
        await district_milestone(
            code,
            "leadership_structure_submitted",
            {
                "achieved_on": day(1 if on_time else 4),
                "documents": [f"{code}政办字〔{year}〕{n * 10 + 2}号"],
            },
        )
        if on_time:
            await district_milestone(
                code,
                "deployment_meeting_held",
                {
                    "achieved_on": date(year, 4, 22).isoformat(),
                    "attendees": 40 + 8 * len(markets[code]),
                    "documents": [f"{code}市场监管〔{year}〕{n * 10 + 3}号"],
                    "note": "全区农贸市场经营者部署会",
                },
            )
        for i, market in enumerate(markets[code]):
            projects.append(await _renovate(call, cid, market, i, on_time, day, today))
    flagged = (await call("POST", "/jobs/check-campaigns"))["flagged"]
    for market in markets[late]:
        if market.get("task_force"):
            await call(
                "PUT",
                f"/campaigns/{cid}/markets/{market['id']}/milestones/task_force_set_up",
                {"achieved_on": day(30), "documents": [f"{market['name']}专班成立通知（补报）"]},
            )
    disclosures = (await call("GET", f"/public/disclosures?campaign_id={cid}"))["items"]
    return {
        "seeded": True,
        "campaign_id": cid,
        "mobilisation_date": mob.isoformat(),
        "late_district": late,
        "renovation_projects": projects,
        "flagged_late": flagged,
        "disclosures": len(disclosures),
    }


async def _known(
    call: Any, cid: str, markets: dict[str, list[dict[str, Any]]], deadline: float
) -> None:
    """Wait until the campaign's progress view counts every market and task force the registry
    showed (the campaign learns them from the registry's topics)."""
    want = {
        d: {"total": len(ms), "with_task_force": sum(1 for m in ms if m.get("task_force"))}
        for d, ms in markets.items()
    }
    while True:
        rows = (await call("GET", f"/campaigns/{cid}/progress"))["districts"]
        have = {row["district"]: row["markets"] for row in rows}
        if all(have.get(d, {}) == w for d, w in want.items()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the campaign service does not know the city: {have} != {want}")
        await asyncio.sleep(0.25)


async def _renovate(
    call: Any, cid: str, market: dict[str, Any], i: int, on_time: bool, day: Any, today: date
) -> str:
    """The market's task force milestone and renovation project: in an on-time district the
    project is approved and built, the first market with a failed safety check, the next
    accepted; in the late district nothing is recorded and the plan waits for approval."""
    mid = market["id"]
    if market.get("task_force") and on_time:
        await call(
            "PUT",
            f"/campaigns/{cid}/markets/{mid}/milestones/task_force_set_up",
            {"achieved_on": day(6), "documents": [f"{market['name']}专班成立通知"]},
        )
    old = market["kind"] == "farmers"
    project = await call(
        "POST",
        "/renovations",
        {
            "campaign_id": cid,
            "market_id": mid,
            "kind": "old_market_upgrade" if old else "new_market",
            "title": f"{market['name']}提升改造工程",
            "planned_on": day(20),
            "scope_items": [
                {"area": "infrastructure", "description": "更换排水管网，地面防滑改造"},
                {"area": "hygiene", "description": "增设洗手池和密闭垃圾房"},
            ]
            if old
            else [
                {"area": "layout", "description": "生熟分区，划行归市"},
                {"area": "equipment", "description": "冷链展示柜与智能监控"},
            ],
            "budget": [
                {"source": "fiscal", "amount_yuan": "1200000.00"},
                {"source": "ppp", "amount_yuan": "800000.00"},
                {"source": "special_fund", "amount_yuan": "350000.50"},
            ],
        },
    )
    pid: str = project["id"]
    if not on_time:
        return pid
    stage, checks = f"/renovations/{pid}/stage", f"/renovations/{pid}/checks"
    await call("POST", stage, {"stage": "approved", "reached_on": day(40)})
    await call("POST", stage, {"stage": "under_construction", "reached_on": day(50)})
    if i % 2 == 0:
        await call(
            "POST",
            checks,
            {
                "kind": "safety",
                "result": "fail",
                # after construction began (day 50): the mobilisation is at least 80 days back
                "checked_on": (today - timedelta(days=FAILED_CHECK_AGE_DAYS)).isoformat(),
                "inspector": "市住建局质安站 刘工",
                "findings": ["施工区与经营区未有效隔离", "临时用电线路裸露"],
            },
        )
    else:
        await call(
            "POST",
            checks,
            {
                "kind": "quality",
                "result": "pass",
                "checked_on": day(75),
                "inspector": "市住建局质安站 王工",
            },
        )
        await call("POST", stage, {"stage": "accepted", "reached_on": day(80)})
    return pid


def main() -> int:
    import json
    import os
    import sys

    token = os.environ.get("SENTINEL_ADMIN_TOKEN", "")
    if not token:
        print("SENTINEL_ADMIN_TOKEN is not set (source .run/env first)", file=sys.stderr)
        return 2
    url = os.environ.get("CAMPAIGN_URL", "http://127.0.0.1:8106")
    registry = os.environ.get("REGISTRY_URL", "http://127.0.0.1:8101")
    print(json.dumps(seed_demo_campaign(url, token, registry), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
