"""The plan's own work, end to end across five services (issue 17): registry, complaints,
inspection, credit and campaign as in-process apps on the real stack, talking only through their
topics and HTTP APIs. Campaign and credit share a clock the test moves forward day by day, so a
month of operators' duties passes in seconds.

1. Two otherwise identical markets of one district: one market's operator inspects every day, its
   task force reports every period and its managers' certificates stay valid; the other's operator
   skips, its task force misses its reports and its managers' certificates lapse. The second falls
   below the first in the district's assessment ranking.
2. A merchant with two critical findings (two complaints → two tasks → two `critical` outcomes)
   is on the month's warning list (黑榜), and its patrol plan moves to the D interval (90 days).
3. A joint enforcement case opened from one of those findings and decided with a fine lowers the
   merchant's score, with the case's decision as the cause in the credit explanation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import topics
from services.campaign.app import build as build_campaign
from services.campaign.settings import CampaignSettings
from services.complaints.app import build as build_complaints
from services.complaints.settings import ComplaintsSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.registry.app import build as build_registry
from tests.support import identity
from tests.support.city import Clock, stack_settings, start_group_at_end
from tests.support.credit_codes import fresh_credit_code
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.registry_api import registry_settings

CITY = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
CODES = ("hygiene", "cold_chain", "scales", "prices", "fire_safety", "licences", "pest_control")


def bearer(role: str, district: str, market_id: str | None = None) -> dict[str, str]:
    return identity.bearer(role, district, market_id)


@dataclass
class City:
    registry: httpx.AsyncClient
    complaints: httpx.AsyncClient
    inspection: httpx.AsyncClient
    credit: httpx.AsyncClient
    campaign: httpx.AsyncClient
    apps: dict[str, Any]
    clock: Clock

    def today(self) -> date:
        return self.clock().astimezone(CITY).date()

    async def district(self) -> str:
        code = f"p{uuid.uuid4().hex[:8]}"
        r = await self.registry.post("/districts", json={"code": code, "name": f"{code}区"})
        assert r.status_code == 201, r.text
        return code

    async def market(self, district: str, name: str) -> str:
        r = await self.registry.post(
            "/markets",
            json={
                "name": name,
                "district": district,
                "kind": "farmers",
                "operator": f"{name}管理有限公司",
                "address": "幸福路1号",
                "capacity": 800,
                "opening_hours": {"open": "06:00", "close": "19:00"},
            },
        )
        assert r.status_code == 201, r.text
        market_id: str = r.json()["id"]
        r = await self.registry.put(
            f"/markets/{market_id}/task-force", json={"leader": "王队长", "members": ["李", "张"]}
        )
        assert r.status_code == 200, r.text
        return market_id

    async def merchant(self, market_id: str) -> str:
        r = await self.registry.post(
            "/merchants",
            json={
                "name": "鲜肉商户",
                "market_id": market_id,
                "stall_no": "A-1",
                "credit_code": fresh_credit_code(),
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=365)).isoformat(),
                "categories": ["pork"],
            },
        )
        assert r.status_code == 201, r.text
        merchant_id: str = r.json()["id"]
        return merchant_id

    async def known(self, *, markets: tuple[str, ...], merchants: tuple[str, ...] = ()) -> None:
        """Wait until every service's registry view holds the markets and merchants."""
        views = [
            self.apps["campaign"].state.directory,
            self.apps["credit"].state.credit.directory,
            self.apps["inspection"].state.inspection.directory,
        ]

        def ready() -> bool:
            return all(
                all(m in v.markets for m in markets) and all(m in v.merchants for m in merchants)
                for v in views
            )

        await until(ready, within=120, what="every service knows the city")


@pytest.fixture(scope="module")
async def city(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[City]:
    tag = uuid.uuid4().hex[:8]
    groups = {name: f"plan-{name}-{tag}" for name in ("reg", "cmp", "ins", "crd", "cam")}
    # Each service's groups start at the ends of the shared topics: it sees what this test
    # causes, not what earlier runs left there. (Registry views read the compacted topics whole.)
    at_end = [
        (groups["reg"], topics.INSPECTION_EVENTS.name),
        (groups["reg"], topics.REGISTRY_CAMPAIGN.name),
        (groups["cmp"], topics.COMPLAINTS_INTAKE.name),
        (groups["cmp"], topics.INSPECTION_EVENTS.name),
        (groups["ins"], topics.TELEMETRY_RISKS.name),
        (groups["ins"], topics.COMPLAINTS_EVENTS.name),
        (groups["ins"], topics.CREDIT_HONOURS.name),
        (groups["ins"], topics.REGISTRY_CAMPAIGN.name),
        (f"{groups['ins']}-scores", topics.CREDIT_SCORES.name),
        (groups["cam"], topics.INSPECTION_EVENTS.name),
        (groups["cam"], topics.COMPLAINTS_SUGGESTIONS.name),
        (f"{groups['cam']}-joint-inspection", topics.INSPECTION_EVENTS.name),
        (f"{groups['cam']}-joint-complaints", topics.COMPLAINTS_EVENTS.name),
    ]
    at_end += [
        (groups["crd"], t)
        for t in (
            topics.INSPECTION_EVENTS.name,
            topics.COMPLAINTS_EVENTS.name,
            topics.REGISTRY_MERCHANTS.name,
            topics.TELEMETRY_RISKS.name,
            topics.CAMPAIGN_ENFORCEMENT.name,
            topics.CAMPAIGN_DUTIES.name,
        )
    ]
    for group, topic in at_end:
        await start_group_at_end(kafka, group, topic)
    common = stack_settings(kafka, database_url, secrets_env)
    clock = Clock()
    apps = {
        "registry": build_registry(
            registry_settings(kafka, database_url, secrets_env, consumer_group=groups["reg"])
        ),
        "complaints": build_complaints(
            ComplaintsSettings(
                **common, consumer_group=groups["cmp"], db_schema=f"complaints_{tag}"
            )
        ),
        "inspection": build_inspection(
            InspectionSettings(
                **common, consumer_group=groups["ins"], db_schema=f"inspection_{tag}"
            )
        ),
        "credit": build_credit(
            CreditSettings(
                **common,
                consumer_group=groups["crd"],
                db_schema=f"credit_{tag}",
                honours_auto_draw=False,
            ),
            now=clock,
        ),
        # The test runs the campaign's clocks itself, at the days it chooses.
        "campaign": build_campaign(
            CampaignSettings(
                **common,
                consumer_group=groups["cam"],
                db_schema=f"campaign_{tag}",
                campaign_check_interval_s=0,
                duties_check_interval_s=0,
                joint_check_interval_s=0,
            ),
            now=clock,
        ),
    }
    started: list[Any] = []
    try:
        for app in apps.values():
            await app.state.service.start()
            started.append(app)

        def client(name: str, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps[name]), base_url=f"http://{name}", auth=auth
            )

        async with (
            client("registry", identity.current().auth("admin", "*")) as registry,
            client("complaints") as complaints,
            client("inspection") as inspection,
            client("credit") as credit,
            client("campaign") as campaign,
        ):
            yield City(registry, complaints, inspection, credit, campaign, apps, clock)
    finally:
        for app in reversed(started):
            await app.state.service.stop()


def of_type(event_type: str, subject: str | None = None) -> Callable[[Record], bool]:
    def match(r: Record) -> bool:
        try:
            body = r.json()
        except ValueError:
            return False
        return body.get("type") == event_type and (subject is None or body["subject"] == subject)

    return match


async def assessment(city: City, market_id: str, district: str) -> dict[str, Any]:
    r = await city.credit.get(
        f"/markets/{market_id}/assessment", headers=bearer("leader", district)
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


# -- 1. duties and the ranking ---------------------------------------------------------------


async def test_a_market_that_neglects_its_duties_falls_in_the_district_ranking(
    city: City, kafka: str
) -> None:
    district = await city.district()
    diligent = await city.market(district, "勤勉农贸市场")
    neglected = await city.market(district, "懈怠农贸市场")
    await city.known(markets=(diligent, neglected))
    before = {m: await assessment(city, m, district) for m in (diligent, neglected)}
    assert before[diligent]["score"] == before[neglected]["score"]
    assert before[neglected]["self_inspection_rate"] is None

    clerk = bearer("clerk", district)
    # Training: the diligent market's managers hold a 24-month certificate, the neglected
    # market's a one-month one, which lapses during the month that follows.
    certificates = {}
    for market_id, months in ((diligent, 24), (neglected, 1)):
        r = await city.campaign.post(
            "/courses",
            json={"title": f"市场管理培训{months}", "validity_months": months},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        course = r.json()["id"]
        r = await city.campaign.post(
            f"/courses/{course}/sessions",
            json={"held_on": city.today().isoformat(), "place": "区市场监管局"},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        session = r.json()["id"]
        r = await city.campaign.post(
            f"/markets/{market_id}/managers",
            json={"name": "赵经理", "position": "市场经理"},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        trainee = r.json()["trainee_id"]
        r = await city.campaign.post(
            f"/sessions/{session}/attendance",
            json={"trainee_id": trainee, "passed": True},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        certificates[market_id] = r.json()

    # Five weeks: the diligent operator inspects every day, its task force reports each
    # fortnight; the neglected market does neither.
    operator = bearer("operator", district, diligent)
    all_passed = [{"code": c, "passed": True} for c in CODES]
    for day in range(1, 36):
        city.clock.offset = day * DAY
        r = await city.campaign.post(
            f"/markets/{diligent}/self-inspections", json={"items": all_passed}, headers=operator
        )
        assert r.status_code == 201, (day, r.text)
        if day in (1, 15, 29):
            r = await city.campaign.post(
                f"/markets/{diligent}/reports",
                json={"progress": f"第{day}天进展", "problems": [], "next_steps": ["继续"]},
                headers=clerk,
            )
            assert r.status_code == 201, (day, r.text)

    async with TopicWatcher(kafka, topics.CAMPAIGN_DUTIES.name) as duties:
        await city.apps["campaign"].state.duties.check(only=[diligent, neglected])
        [published] = await duties.wait_for(of_type("campaign.duties.updated", neglected))
    standing = published.json()["data"]
    assert standing["self_inspection_rate"] == 0
    assert standing["reports_late"] >= 2 and standing["certified_share"] == 0

    async def fallen() -> dict[str, dict[str, Any]] | None:
        now = {m: await assessment(city, m, district) for m in (diligent, neglected)}
        if any(now[m].get("self_inspection_rate") is None for m in now):
            return None  # credit has not read both standings yet
        if sorted(a["rank"] for a in now.values()) != [1, 2]:
            # Read one after the other: credit read a standing between the two answers, so
            # they rank the markets against different states (seen as ranks 2 and 2).
            return None
        return now

    after = await until(fallen, within=60, what="credit reads the duties")
    assert after[diligent]["self_inspection_rate"] == 1
    assert after[diligent]["certified_share"] == 1
    assert after[neglected]["certified_share"] == 0
    assert after[neglected]["score"] < after[diligent]["score"]
    assert (after[diligent]["rank"], after[neglected]["rank"]) == (1, 2)


# -- 2 and 3. critical findings, the warning list, enforcement -------------------------------


async def critical_finding(city: City, district: str, market_id: str, merchant_id: str) -> str:
    """A citizen's food-safety complaint, accepted → inspection's task → claimed and completed
    `critical`. Returns the task id."""
    r = await city.complaints.post(
        "/complaints",
        json={
            "complainant": {"name": "张三", "phone": "13800138000"},
            "market_id": market_id,
            "merchant_id": merchant_id,
            "category": "food_safety",
            "facts": f"买到变质猪肉 {uuid.uuid4().hex[:6]}",
            "request": "查处",
            "channel": "web",
        },
    )
    assert r.status_code == 201, r.text
    complaint = r.json()["id"]
    r = await city.complaints.post(
        f"/complaints/{complaint}/accept", headers=bearer("handler", district)
    )
    assert r.status_code == 200, r.text
    inspector = bearer("inspector", district)

    async def open_task() -> str | None:
        r = await city.inspection.get(
            "/tasks", params={"state": "open", "market_id": market_id}, headers=inspector
        )
        body = r.json()
        items = body["items"] if isinstance(body, dict) else body
        found = [
            t
            for t in items
            if t.get("merchant_id") == merchant_id and t.get("reason_kind") == "complaint"
        ]
        return str(found[0]["id"]) if found else None

    task = await until(open_task, within=60, what="the complaint's inspection task")
    r = await city.inspection.post(f"/tasks/{task}/claim", headers=inspector)
    assert r.status_code == 200, r.text
    r = await city.inspection.post(
        f"/tasks/{task}/complete",
        json={
            "outcome": "critical",
            "findings": [{"code": "HYG-06", "note": "销售变质猪肉"}],
            "departments": ["market_regulation"],
        },
        headers=inspector,
    )
    assert r.status_code == 200, r.text
    return task


async def test_two_critical_findings_put_a_merchant_on_the_warning_list_and_a_decided_case_costs_it(
    city: City, kafka: str
) -> None:
    district = await city.district()
    market_id = await city.market(district, "东风农贸市场")
    merchant_id = await city.merchant(market_id)
    await city.known(markets=(market_id,), merchants=(merchant_id,))
    city.clock.offset = timedelta()

    first = await critical_finding(city, district, market_id, merchant_id)
    await critical_finding(city, district, market_id, merchant_id)
    inspector = bearer("inspector", district)

    async def ledger() -> list[dict[str, Any]]:
        r = await city.credit.get(f"/merchants/{merchant_id}/credit", headers=inspector)
        body: dict[str, Any] = r.json() if r.status_code == 200 else {"ledger": []}
        return list(body["ledger"])

    async def two_criticals() -> list[dict[str, Any]] | None:
        found = await ledger()
        kinds = [e["kind"] for e in found]
        return found if kinds.count("inspection.finding.critical") >= 2 else None

    await until(two_criticals, within=60, what="credit records both critical findings")

    # 3. A joint enforcement case from the first finding, decided with a fine.
    async def origin_known() -> bool:
        r = await city.campaign.post(
            "/enforcement-cases",
            json={
                "origin": {"kind": "finding", "id": first},
                "departments": ["market_regulation", "health"],
                "facts": "销售变质猪肉，两次严重问题",
            },
            headers=inspector,
        )
        if r.status_code == 422:
            return False  # the campaign has not read the finding yet
        assert r.status_code == 201, r.text
        opened.append(r.json()["id"])
        return True

    opened: list[str] = []
    await until(origin_known, within=60, what="the campaign knows the critical finding")
    [case_id] = opened
    async with TopicWatcher(kafka, topics.CAMPAIGN_ENFORCEMENT.name) as cases:
        r = await city.campaign.post(
            f"/enforcement-cases/{case_id}/decide",
            json={
                "sanction": "fine",
                "fine_yuan": "5000.00",
                "reasoning": "《食品安全法》第一百二十四条",
            },
            headers=inspector,
        )
        assert r.status_code == 200, r.text
        [decided] = await cases.wait_for(of_type("campaign.enforcement.decided", case_id))

    async def fined() -> dict[str, Any] | None:
        for entry in await ledger():
            if entry["kind"] == "enforcement.fine":
                return entry
        return None

    entry = await until(fined, within=60, what="credit applies the decided case")
    assert entry["delta"] < 0
    assert entry["event_id"] == decided.json()["id"]
    assert entry["event_type"] == "campaign.enforcement.decided"
    assert entry["topic"] == topics.CAMPAIGN_ENFORCEMENT.name

    # 2. The month ends; its list puts the merchant on the 黑榜 and inspection follows.
    month = datetime.now(UTC).astimezone(CITY).strftime("%Y-%m")
    next_month = (datetime.now(UTC).astimezone(CITY).replace(day=28) + 5 * DAY).replace(day=2)
    city.clock.offset = next_month - datetime.now(UTC).astimezone(CITY)
    try:
        r = await city.credit.post(
            "/honours/draw", json={"month": month}, headers=bearer("admin", "*")
        )
    finally:
        city.clock.offset = timedelta()
    assert r.status_code == 201, r.text
    warned = {e["entity_id"]: e for e in r.json()["warning"]}
    assert merchant_id in warned, r.json()

    async def plan() -> dict[str, Any] | None:
        r = await city.inspection.get(f"/patrol-plans/{merchant_id}", headers=inspector)
        found: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return found if found.get("interval_reason") == "warning_list" else None

    patrol = await until(plan, within=60, what="inspection patrols the listed merchant")
    assert patrol["warning_list"] == month
    assert (patrol["effective_grade"], patrol["interval_days"]) == ("D", 90)
