"""Regressions for the 500s the OpenAPI fuzz found: each is now a 422 naming the field.

- Text PostgreSQL cannot hold — a NUL character (`%00`, `\\u0000`) or a lone surrogate
  (`\\ud800`) — in a path or query parameter or anywhere in a JSON body reached a query and
  failed there; `/ingest` looked every claimed terminal id up, NUL or not.
- A campaign whose mobilisation date lies outside the years 2000..2100 took that year as its
  own and failed the `registry.campaign.upserted` contract (or ran past the calendar's end).
- `GET /public/disclosures?offset=` beyond a bigint reached the query's OFFSET.
- A credit assessment `from` a moment after now (no `to`) made an empty period; a `to` in the
  first days of year 1 made a period starting before the calendar.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.city import InProcess, bearer, provision
from tests.support.poll import until

pytestmark = pytest.mark.integration
JSON = {"content-type": "application/json"}


def _field_of(r: httpx.Response) -> str:
    assert r.status_code == 422, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    field: str = body["errors"][0]["field"]
    return field


async def test_unstorable_text_is_refused_naming_the_field(telemetry: InProcess) -> None:
    reg = telemetry.registry
    place = await provision(reg, stall_no=f"U-{uuid.uuid4().hex[:4]}")
    assert _field_of(await reg.get("/markets", params={"district": "a\x00b"})) == "district"
    assert _field_of(await reg.get("/merchants?market_id=%00X")) == "market_id"
    assert _field_of(await reg.get("/markets/mkt%00")) == "market_id"
    market = {
        "name": "n",
        "district": place.district,
        "kind": "farmers",
        "operator": "o",
        "address": "a",
        "capacity": 10,
        "opening_hours": {"open": "06:00", "close": "19:00"},
    }
    r = await reg.post("/markets", json=market | {"district": "=\x00X"})
    assert _field_of(r) == "district"
    r = await reg.post("/markets", json=market | {"opening_hours": {"open": "06:00\x00"}})
    assert _field_of(r) == "opening_hours.open"
    r = await reg.put(
        f"/markets/{place.market_id}/task-force",
        content=b'{"leader": "x", "members": ["ok", "\\ud800"]}',
        headers=JSON,
    )
    assert _field_of(r) == "members.1"
    assert r.json()["errors"][0]["reason"].startswith("must be valid Unicode")
    # Nothing was changed: the market is as it was provisioned.
    market_now = (await reg.get(f"/markets/{place.market_id}")).json()
    assert market_now["task_force"]["members"] == ["李", "张"]

    admin = bearer("admin", "*")
    r = await telemetry.client.get("/risks?terminal_id=%00X", headers=admin)
    assert _field_of(r) == "terminal_id"
    # /ingest judges each reading on its own: a NUL in a claimed terminal id is no 500.
    r = await telemetry.client.post("/ingest", json=[{"terminal_id": "a\x00b", "seq": 1}])
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "rejected"


async def test_a_campaign_stays_within_the_contracts_years(campaign: InProcess) -> None:
    place = await provision(campaign.registry, stall_no=f"Y-{uuid.uuid4().hex[:4]}")
    directory = campaign.app.state.directory
    await until(lambda: place.market_id in directory.markets, what="the campaign knows the market")
    body = {"name": "专项行动", "districts": [place.district]}
    admin = bearer("admin", "*")
    for day in ("6136-01-20", "9999-12-20", "1999-12-31"):
        r = await campaign.client.post(
            "/campaigns", json=body | {"mobilisation_date": day}, headers=admin
        )
        assert _field_of(r) == "mobilisation_date", day
    r = await campaign.client.post(
        "/campaigns", json=body | {"mobilisation_date": "2026-03-01"}, headers=admin
    )
    assert r.status_code == 201, r.text


async def test_a_page_offset_fits_the_query(campaign: InProcess) -> None:
    r = await campaign.client.get("/public/disclosures", params={"offset": 2**63})
    assert _field_of(r) == "offset"
    r = await campaign.client.get("/public/disclosures", params={"offset": 2**63 - 1})
    assert r.status_code == 200, r.text


async def test_an_assessment_period_is_checked_before_it_is_made(credit: InProcess) -> None:
    place = await provision(credit.registry, stall_no=f"P-{uuid.uuid4().hex[:4]}")
    who = bearer("clerk", place.district)
    path = f"/markets/{place.market_id}/assessment"
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    assert _field_of(await credit.client.get(path, params={"from": later}, headers=who)) == "from"
    r = await credit.client.get(path, params={"to": "0001-01-02T00:00:00Z"}, headers=who)
    assert _field_of(r) == "to"
    r = await credit.client.get(path, params={"days": 7}, headers=who)
    assert r.status_code in (200, 404), r.text
