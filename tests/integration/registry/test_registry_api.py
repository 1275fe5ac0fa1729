"""The registry's HTTP API against real Postgres and Kafka (the app in-process, over ASGI)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from contracts import topics
from contracts.registry import MarketUpserted, MerchantUpserted, TerminalUpserted
from services.runtime.messaging import Delivery
from services.runtime.terminal_keys import derive_key
from tests.integration.registry.conftest import Api
from tests.support.clock import city_today
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.registry_api import market_body, merchant_body


async def _district(api: Api) -> str:
    code = f"d{uuid.uuid4().hex[:8]}"
    r = await api.post("/districts", {"code": code, "name": f"区{code}"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": code, "code": code, "name": f"区{code}"}  # created: its id too
    return code


async def _market(api: Api, district: str) -> dict:
    r = await api.post("/markets", market_body(district))
    assert r.status_code == 201, r.text
    return r.json()


def _subject(subject: str, version: int | None = None):  # type: ignore[no-untyped-def]
    """Records about `subject` (of one snapshot version: earlier ones may still be in flight)."""

    def match(rec: Record) -> bool:
        event = rec.json()
        return event["subject"] == subject and version in (None, event["data"]["version"])

    return match


def _parse(rec: Record, model):  # type: ignore[no-untyped-def]
    return Delivery(rec.topic, rec.partition, rec.offset, rec.key, rec.value).envelope(model)


async def test_market_created_is_published_with_the_full_envelope(api: Api, kafka: str) -> None:
    district = await _district(api)
    async with TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as watcher:
        market = await _market(api, district)
        [record] = await watcher.wait_for(_subject(market["id"]))
    assert market["id"].startswith("mkt_") and market["version"] == 1
    assert record.key == market["id"].encode()
    assert record.headers["content-type"] == b"application/cloudevents+json"
    event = _parse(record, MarketUpserted)
    assert (event.specversion, event.type, event.source) == (
        "1.0",
        "registry.market.upserted",
        "/sentinel/registry",
    )
    assert event.dataschema.endswith("/registry.market.upserted/v1.json")
    assert event.correlationid == event.id and event.time.tzinfo is not None
    assert (event.data.market_id, event.data.district, event.data.capacity) == (
        market["id"],
        district,
        800,
    )
    assert event.data.opening_hours.open == "06:00"
    # The district's name travels with the market (the campaign knows districts through them).
    assert event.data.district_name == f"区{district}"

    got = await api.client.get(f"/markets/{market['id']}", headers=api.token("clerk", district))
    assert got.status_code == 200 and got.json() == market


async def test_task_force_change_publishes_a_new_snapshot_version(api: Api, kafka: str) -> None:
    market = await _market(api, await _district(api))
    async with TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as watcher:
        r = await api.client.put(
            f"/markets/{market['id']}/task-force",
            json={"leader": "张组长", "members": ["李", "王"]},
            headers=api.token(),
        )
        assert r.status_code == 200, r.text
        [record] = await watcher.wait_for(_subject(market["id"], version=2))
    event = _parse(record, MarketUpserted)
    assert event.data.version == 2 and event.data.task_force is not None
    assert event.data.task_force.members == ["李", "王"]


async def test_wrong_credit_code_is_422_naming_the_field_and_changes_nothing(
    api: Api, kafka: str
) -> None:
    district = await _district(api)
    market = await _market(api, district)
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    outbox_before = await pool.fetchval("SELECT count(*) FROM outbox")
    async with TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as watcher:
        bad = await api.post(
            "/merchants",
            merchant_body(market["id"], "A-01", "914403001922038217"),
            "clerk",
            district,
        )
        good = await api.post("/merchants", merchant_body(market["id"], "A-02"), "clerk", district)
        assert good.status_code == 201, good.text
        await watcher.wait_for(_subject(good.json()["id"]))
        seen = await watcher.drain(settle_s=0.5)
    assert bad.status_code == 422
    body = bad.json()
    assert body["errors"][0]["field"] == "credit_code"
    assert body["errors"][0]["reason"].startswith("check character is '7'")
    stalls = await pool.fetch("SELECT stall_no FROM merchants WHERE market_id = $1", market["id"])
    assert [r["stall_no"] for r in stalls] == ["A-02"]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == outbox_before + 1
    published = [_parse(r, MerchantUpserted).data for r in seen]
    assert [m.stall_no for m in published if m.market_id == market["id"]] == ["A-02"]


async def test_clerk_of_another_district_gets_403_and_nothing_is_stored(api: Api) -> None:
    home, other = await _district(api), await _district(api)
    market = await _market(api, home)
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    r = await api.post("/merchants", merchant_body(market["id"], "B-01"), "clerk", other)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = await api.post("/markets", market_body(home, "别区的市场"), "clerk", other)
    assert r.status_code == 403
    assert (
        await pool.fetchval("SELECT count(*) FROM merchants WHERE market_id = $1", market["id"])
        == 0
    )
    assert await pool.fetchval("SELECT count(*) FROM markets WHERE name = '别区的市场'") == 0
    # and an inspector may read but not register
    assert (await api.post("/markets", market_body(home), "inspector", home)).status_code == 403
    assert (
        await api.client.get(f"/markets/{market['id']}", headers=api.token("inspector", home))
    ).status_code == 200
    assert (await api.client.get("/districts")).status_code == 401


async def test_bad_input_names_each_field(api: Api) -> None:
    district = await _district(api)
    body = market_body(district) | {"capacity": 0, "kind": "supermarket"}
    r = await api.post("/markets", body)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"capacity", "kind"}
    r = await api.post("/markets", market_body("nowhere"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "district"
    r = await api.post(
        "/markets", market_body(district) | {"opening_hours": {"open": "19:00", "close": "06:00"}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "opening_hours.close"
    market = await _market(api, district)
    expired = merchant_body(market["id"], "C-01") | {"licence_valid_until": "2020-01-01"}
    r = await api.post("/merchants", expired)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "licence_valid_until"
    ok = await api.post("/merchants", merchant_body(market["id"], "C-02"))
    assert ok.status_code == 201
    taken = await api.post("/merchants", merchant_body(market["id"], "C-02"))
    assert taken.status_code == 409


async def test_terminal_key_is_returned_once_and_derived_from_the_master_secret(
    api: Api, kafka: str, secrets_env: dict[str, str]
) -> None:
    district = await _district(api)
    market = await _market(api, district)
    merchant = (await api.post("/merchants", merchant_body(market["id"], "D-01"))).json()
    master = secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"].encode()
    async with TopicWatcher(kafka, topics.REGISTRY_TERMINALS.name) as watcher:
        r = await api.post(
            "/terminals",
            {
                "kind": "cold_chain",
                "market_id": market["id"],
                "merchant_id": merchant["id"],
                "profile": "frozen",
                "interval_s": 60,
            },
        )
        assert r.status_code == 201, r.text
        terminal = r.json()
        assert terminal["key"] == derive_key(master, terminal["id"], 1).hex()
        assert terminal["stall_no"] == "D-01"
        rotated = (
            await api.client.post(f"/terminals/{terminal['id']}/rotate-key", headers=api.token())
        ).json()
        assert rotated["key_version"] == 2
        assert rotated["key"] == derive_key(master, terminal["id"], 2).hex() != terminal["key"]
        records = await watcher.wait_for(_subject(terminal["id"]), count=2)
        records = sorted(records, key=lambda r: r.offset)
    assert (
        "key"
        not in (await api.client.get(f"/terminals/{terminal['id']}", headers=api.token())).json()
    )
    for rec in records:
        assert b'"key"' not in rec.value and terminal["key"].encode() not in rec.value
        assert isinstance(_parse(rec, TerminalUpserted).data.key_version, int)
    assert [_parse(rec, TerminalUpserted).data.key_version for rec in records] == [1, 2]
    no_profile = await api.post("/terminals", {"kind": "cold_chain", "market_id": market["id"]})
    assert no_profile.status_code == 422 and no_profile.json()["errors"][0]["field"] == "profile"

    # The market's terminals, listed for its district's clerk, never with a key; another
    # district's clerk sees none of them.
    listed = await api.get(f"/terminals?market_id={market['id']}", role="clerk", district=district)
    assert listed.status_code == 200
    [shown] = listed.json()["items"]
    assert shown["id"] == terminal["id"] and shown["key_version"] == 2 and "key" not in shown
    elsewhere = await _district(api)
    other = await api.get(f"/terminals?market_id={market['id']}", role="clerk", district=elsewhere)
    assert other.status_code == 200 and other.json()["items"] == []
    # Without a market: the district's terminals (the clerk's 终端 list), none of another's.
    district_wide = await api.get("/terminals", role="clerk", district=district)
    assert [t["id"] for t in district_wide.json()["items"]] == [terminal["id"]]
    assert (await api.get("/terminals", role="clerk", district=elsewhere)).json()["items"] == []


async def test_licence_expiry_job_marks_lapsed_merchants_and_publishes_once(
    api: Api, kafka: str
) -> None:
    market = await _market(api, await _district(api))
    merchant = (await api.post("/merchants", merchant_body(market["id"], "E-01"))).json()
    registry = api.app.state.registry  # type: ignore[attr-defined]
    async with TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as watcher:
        later = date.fromisoformat(merchant["licence_valid_until"]) + timedelta(days=1)
        first = await registry.expire_licences(on=later)
        again = await registry.expire_licences(on=later)
        [record] = await watcher.wait_for(_subject(merchant["id"], version=2))
        assert merchant["id"] in [m.id for m in first]
        assert merchant["id"] not in [m.id for m in again]
        await watcher.drain(settle_s=0.5)
        assert not [r for r in watcher.records if _subject(merchant["id"], version=3)(r)]
    event = _parse(record, MerchantUpserted)
    assert (event.data.status, event.data.version) == ("licence_expired", 2)
    got = await api.client.get(f"/merchants/{merchant['id']}", headers=api.token())
    assert got.json()["status"] == "licence_expired"
    pool = api.app.state.service.pool  # type: ignore[attr-defined]
    await until(lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))


async def test_a_merchant_leaves_its_stall_to_the_next_and_its_sensor_retires(
    api: Api, kafka: str
) -> None:
    market = await _market(api, await _district(api))
    merchant = (await api.post("/merchants", merchant_body(market["id"], "F-01"))).json()
    sensor = {"kind": "cold_chain", "market_id": market["id"], "merchant_id": merchant["id"]}
    r = await api.post("/terminals", sensor | {"profile": "chilled"})
    assert r.status_code == 201, r.text
    terminal = r.json()
    leave = f"/merchants/{merchant['id']}/leave"

    # Every problem at once, and nothing changed.
    tomorrow = (city_today() + timedelta(days=2)).isoformat()
    refused = await api.post(leave, {"reason": "", "left_on": tomorrow})
    assert refused.status_code == 422, refused.text
    assert sorted(e["field"] for e in refused.json()["errors"]) == ["left_on", "reason"]
    got = await api.client.get(f"/merchants/{merchant['id']}", headers=api.token())
    assert (got.json()["status"], got.json()["version"]) == ("active", 1)
    taken = await api.post("/merchants", merchant_body(market["id"], "F-01"))
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "stall_no"

    async with (
        TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as merchants,
        TopicWatcher(kafka, topics.REGISTRY_TERMINALS.name) as terminals,
    ):
        r = await api.post(leave, {"reason": "租约到期，不再续租"})
        assert r.status_code == 200, r.text
        [left] = await merchants.wait_for(_subject(merchant["id"], version=2))
        [retired] = await terminals.wait_for(_subject(terminal["id"], version=2))
    body = r.json()
    assert (body["status"], body["left_on"], body["left_reason"]) == (
        "left",
        city_today().isoformat(),
        "租约到期，不再续租",
    )
    assert body["retired_terminals"] == [terminal["id"]]
    event = _parse(left, MerchantUpserted).data
    assert (event.status, event.left_on) == ("left", city_today())
    assert _parse(retired, TerminalUpserted).data.status == "retired"

    again = await api.post(leave, {"reason": "再次"})
    assert again.status_code == 409, again.text
    # The stall is the next merchant's; the one who left is still on record.
    newcomer = await api.post("/merchants", merchant_body(market["id"], "F-01"))
    assert newcomer.status_code == 201, newcomer.text
    listed = await api.get(f"/merchants?market_id={market['id']}")
    statuses = {m["id"]: m["status"] for m in listed.json()["items"]}
    assert statuses == {merchant["id"]: "left", newcomer.json()["id"]: "active"}


async def test_a_market_closes_once_its_merchants_left_and_citizens_find_it_no_more(
    api: Api, kafka: str
) -> None:
    market = await _market(api, await _district(api))
    merchant = (await api.post("/merchants", merchant_body(market["id"], "H-01"))).json()
    r = await api.post("/terminals", {"kind": "footfall", "market_id": market["id"]})
    assert r.status_code == 201, r.text
    gate = r.json()
    close = f"/markets/{market['id']}/close"

    tomorrow = (city_today() + timedelta(days=2)).isoformat()
    refused = await api.post(close, {"reason": "", "closed_on": tomorrow})
    assert refused.status_code == 422, refused.text
    assert sorted(e["field"] for e in refused.json()["errors"]) == ["closed_on", "reason"]
    trading = await api.post(close, {"reason": "整体搬迁"})
    assert trading.status_code == 409 and "still trade" in trading.json()["message"]
    got = await api.client.get(f"/markets/{market['id']}", headers=api.token())
    assert (got.json()["status"], got.json()["version"]) == ("open", 1)

    assert (await api.post(f"/merchants/{merchant['id']}/leave", {"reason": "转让"})).is_success
    async with (
        TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as markets,
        TopicWatcher(kafka, topics.REGISTRY_TERMINALS.name) as terminals,
    ):
        r = await api.post(close, {"reason": "整体搬迁至新址"})
        assert r.status_code == 200, r.text
        [closed] = await markets.wait_for(_subject(market["id"], version=2))
        [retired] = await terminals.wait_for(_subject(gate["id"], version=2))
    body = r.json()
    assert (body["status"], body["closed_on"], body["closed_reason"]) == (
        "closed",
        city_today().isoformat(),
        "整体搬迁至新址",
    )
    assert body["retired_terminals"] == [gate["id"]]
    event = _parse(closed, MarketUpserted).data
    assert (event.status, event.closed_on) == ("closed", city_today())
    assert _parse(retired, TerminalUpserted).data.status == "retired"

    joining = await api.post("/merchants", merchant_body(market["id"], "H-02"))
    assert joining.status_code == 409
    assert joining.json()["errors"][0]["field"] == "market_id"
    public = await api.client.get("/public/markets", params={"district": market["district"]})
    assert public.json()["items"] == []
    page = await api.client.get(f"/public/markets/{market['id']}")
    assert (page.json()["status"], page.json()["closed_on"]) == ("closed", city_today().isoformat())


async def test_a_markets_details_and_a_merchants_name_are_corrected_as_new_snapshots(
    api: Api, kafka: str
) -> None:
    district = await _district(api)
    market = await _market(api, district)
    merchant = (await api.post("/merchants", merchant_body(market["id"], "G-01"))).json()
    winter = {
        "name": "幸福农贸市场（东区）",
        "operator": "幸福市场管理有限公司",
        "address": "幸福路1号",
        "capacity": 650,
        "opening_hours": {"open": "06:30", "close": "18:00"},
    }
    put = api.client.put
    # Every problem at once (the model's and the hours'), and nothing changed.
    wrong = winter | {"capacity": 0, "opening_hours": {"open": "19:00", "close": "06:00"}}
    r = await put(f"/markets/{market['id']}", json=wrong, headers=api.token())
    assert r.status_code == 422, r.text
    assert sorted(e["field"] for e in r.json()["errors"]) == ["capacity", "opening_hours.close"]
    elsewhere = api.token("clerk", await _district(api))
    r = await put(f"/markets/{market['id']}", json=winter, headers=elsewhere)
    assert r.status_code == 403, r.text

    async with (
        TopicWatcher(kafka, topics.REGISTRY_MARKETS.name) as markets,
        TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as merchants,
    ):
        r = await put(f"/markets/{market['id']}", json=winter, headers=api.token("clerk", district))
        assert r.status_code == 200, r.text
        again = await put(f"/markets/{market['id']}", json=winter, headers=api.token())
        assert again.json()["version"] == 2  # the same details: no new version
        fix = {"name": "老王鲜肉铺", "categories": ["pork", "beef"]}
        r = await put(f"/merchants/{merchant['id']}", json=fix, headers=api.token())
        assert r.status_code == 200, r.text
        [m] = await markets.wait_for(_subject(market["id"], version=2))
        [c] = await merchants.wait_for(_subject(merchant["id"], version=2))
        await markets.drain(settle_s=0.5)
        assert not [r for r in markets.records if _subject(market["id"], version=3)(r)]
    snapshot = _parse(m, MarketUpserted).data
    assert (snapshot.name, snapshot.capacity, snapshot.opening_hours.open) == (
        "幸福农贸市场（东区）",
        650,
        "06:30",
    )
    assert (snapshot.district, snapshot.kind) == (district, "farmers")
    corrected = _parse(c, MerchantUpserted).data
    assert (corrected.name, corrected.categories, corrected.stall_no) == (
        "老王鲜肉铺",
        ["pork", "beef"],
        "G-01",
    )


async def test_a_markets_kind_picked_wrong_is_corrected(api: Api) -> None:
    """批发 registered as 农贸: corrected with the details (left out, the kind stays); a kind the
    registry does not know is named with the other problems, and nothing changes."""
    market = await _market(api, await _district(api))
    details = {
        "name": market["name"],
        "operator": market["operator"],
        "address": market["address"],
        "capacity": market["capacity"],
        "opening_hours": market["opening_hours"],
    }
    put = api.client.put
    path = f"/markets/{market['id']}"
    r = await put(path, json=details | {"kind": "retail", "capacity": 0}, headers=api.token())
    assert r.status_code == 422, r.text
    assert sorted(e["field"] for e in r.json()["errors"]) == ["capacity", "kind"]
    r = await put(path, json=details | {"kind": "wholesale"}, headers=api.token())
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["version"]) == ("wholesale", 2)
    kept = await put(path, json=details, headers=api.token())
    assert (kept.json()["kind"], kept.json()["version"]) == ("wholesale", 2)
    public = (await api.client.get(f"/public/markets/{market['id']}")).json()
    assert public["kind"] == "wholesale"


async def test_a_merchant_moves_to_a_free_stall_with_its_sensor_and_its_record(
    api: Api, kafka: str
) -> None:
    market = await _market(api, await _district(api))
    merchant = (await api.post("/merchants", merchant_body(market["id"], "H-01"))).json()
    await api.post("/merchants", merchant_body(market["id"], "H-02"))
    sensor = {"kind": "cold_chain", "market_id": market["id"], "merchant_id": merchant["id"]}
    terminal = (await api.post("/terminals", sensor | {"profile": "frozen"})).json()
    move = f"/merchants/{merchant['id']}/move"

    taken = await api.post(move, {"stall_no": "H-02"})
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "stall_no"
    async with (
        TopicWatcher(kafka, topics.REGISTRY_MERCHANTS.name) as merchants,
        TopicWatcher(kafka, topics.REGISTRY_TERMINALS.name) as terminals,
    ):
        r = await api.post(move, {"stall_no": "H-09"})
        assert r.status_code == 200, r.text
        [m] = await merchants.wait_for(_subject(merchant["id"], version=2))
        [t] = await terminals.wait_for(_subject(terminal["id"], version=2))
    assert (r.json()["id"], r.json()["stall_no"]) == (merchant["id"], "H-09")
    assert r.json()["moved_terminals"] == [terminal["id"]]
    assert _parse(m, MerchantUpserted).data.stall_no == "H-09"
    assert _parse(t, TerminalUpserted).data.stall_no == "H-09"
    # The stall it left takes the next merchant.
    again = await api.post("/merchants", merchant_body(market["id"], "H-01"))
    assert again.status_code == 201, again.text


async def test_health_readiness_metrics_and_openapi(api: Api) -> None:
    assert (await api.client.get("/healthz")).json()["status"] == "ok"
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "kafka": True}
    metrics = (await api.client.get("/metrics")).text
    assert "sentinel_registry_outbox_published_total" in metrics
    assert (
        'sentinel_registry_http_requests_total{method="GET",route="/readyz",status="200"}'
        in metrics
    )
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    for path in (
        "/districts",
        "/markets",
        "/markets/{market_id}",
        "/markets/{market_id}/task-force",
        "/merchants",
        "/merchants/{merchant_id}",
        "/terminals",
        "/terminals/{terminal_id}",
    ):
        assert path in paths
