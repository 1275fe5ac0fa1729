"""Signed readings through the real topic → risks and rejections, on real Kafka and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.telemetry import sign
from tests.integration.telemetry.conftest import Stack
from tests.support.kafka import TopicWatcher
from tests.support.kafka import about_terminal as _about
from tests.support.readings import Terminal


async def test_excursion_raises_once_with_evidence_then_clears_and_a_replay_changes_nothing(
    stack: Stack, kafka: str
) -> None:
    terminal, _ = await stack.provision(profile="chilled")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    # 5 min in band, 20 min at 10 °C (above the 8 °C limit), 15 min back at 4 °C.
    temps = [4.0] * 5 + [10.0] * 20 + [4.0] * 15
    readings = terminal.series(start, temps)
    async with TopicWatcher(kafka, "telemetry.risks.v1") as risks:
        await stack.send(*readings)
        raised, cleared = await risks.wait_for(_about(terminal.id), count=2)
    r, c = raised.json(), cleared.json()
    assert (r["type"], c["type"]) == ("telemetry.risk.raised", "telemetry.risk.cleared")
    assert raised.key == terminal.id.encode()
    assert r["data"]["risk_id"] == c["data"]["risk_id"] == r["subject"] == r["correlationid"]
    assert r["data"]["rule"] == "cold_chain_excursion" and r["data"]["category"] == "food_safety"
    assert r["data"]["severity"] == "minor"
    evidence = r["data"]["evidence"]
    assert evidence["thresholds"]  # the limits in force travel with the risk
    assert evidence["peak"] == 10.0 and evidence["duration_s"] >= 15 * 60
    assert evidence["readings_count"] >= 15
    assert r["data"]["merchant_id"] and r["data"]["stall_no"] == "A-1"

    listed = (
        await stack.telemetry.get(f"/risks?terminal_id={terminal.id}", headers=stack.admin)
    ).json()
    assert [(x["rule"], x["state"]) for x in listed["items"]] == [
        ("cold_chain_excursion", "cleared")
    ]

    # The same readings again: every one is a replay; no new risk.
    async with (
        TopicWatcher(kafka, "telemetry.rejected.v1") as rejected,
        TopicWatcher(kafka, "telemetry.risks.v1") as again,
    ):
        await stack.send(*readings)
        replays = await rejected.wait_for(_about(terminal.id), count=len(readings))
        await again.drain(settle_s=1.0)
    assert {x.json()["data"]["reason"] for x in replays} == {"replay"}
    assert not [x for x in again.records if _about(terminal.id)(x)]


async def test_each_bad_reading_is_rejected_with_its_reason_and_the_consumer_keeps_going(
    stack: Stack, kafka: str
) -> None:
    terminal, info = await stack.provision(profile="frozen")
    now = datetime.now(UTC).replace(microsecond=0)
    good = terminal.reading(now - timedelta(minutes=10), temp_c=-19.0)
    forged = terminal.reading(now - timedelta(minutes=9), temp_c=-19.0) | {"sig": "0" * 64}
    stranger = Terminal("trm_nobody", "00" * 32).reading(now, temp_c=1.0)
    future = terminal.reading(now + timedelta(minutes=10), temp_c=-19.0)
    hot = terminal.reading(now - timedelta(minutes=8), temp_c=150.0)
    replay = dict(good)
    # a reading moved to another terminal's id but signed with this one's key
    impostor = terminal.reading(now - timedelta(minutes=7), temp_c=-19.0)
    impostor["terminal_id"] = "trm_other"
    impostor["sig"] = sign(impostor, terminal.key)
    last = terminal.reading(now - timedelta(minutes=1), temp_c=-18.5)
    async with TopicWatcher(kafka, "telemetry.rejected.v1") as rejected:
        await stack.send(
            good, forged, stranger, future, hot, replay, b"{broken json", impostor, last
        )
        found = await rejected.wait_for(
            lambda r: (
                r.json()["data"]["reason"] == "malformed"
                or _about(terminal.id)(r)
                or _about("trm_nobody")(r)
                or _about("trm_other")(r)
            ),
            count=7,
        )
    reasons = sorted(r.json()["data"]["reason"] for r in found)
    assert reasons == sorted(
        [
            "signature",
            "unknown_terminal",
            "future_ts",
            "out_of_range",
            "replay",
            "malformed",
            "unknown_terminal",
        ]
    )
    hot_event = next(
        r.json()["data"] for r in found if r.json()["data"]["reason"] == "out_of_range"
    )
    assert hot_event["field"] == "temp_c" and "150" in hot_event["detail"]
    # The last good reading after all that was processed: the state's last seq is its seq.
    async with stack.telemetry_app.state.service.pool.acquire() as conn:
        seq = await conn.fetchval(
            "SELECT last_seq FROM terminal_state WHERE terminal_id = $1", info["id"]
        )
    assert seq == last["seq"]


async def test_ingest_verifies_like_the_topic_and_answers_per_reading(
    stack: Stack, kafka: str
) -> None:
    terminal, _ = await stack.provision(profile="chilled")
    now = datetime.now(UTC).replace(microsecond=0)
    ok = terminal.reading(now - timedelta(minutes=2), temp_c=3.0)
    bad = terminal.reading(now - timedelta(minutes=1), temp_c=3.0) | {"sig": "f" * 64}
    async with TopicWatcher(kafka, "telemetry.readings.v1") as topic:
        r = await stack.telemetry.post("/ingest", json=[ok, bad, "nonsense"])
        assert r.status_code == 200, r.text
        [forwarded] = await topic.wait_for(_raw_about(terminal.id))
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [x["status"] for x in body["results"]] == ["accepted", "rejected", "rejected"]
    assert body["results"][1]["reason"] == "signature"
    assert body["results"][2]["reason"] == "malformed"
    assert forwarded.key == terminal.id.encode() and forwarded.json()["seq"] == ok["seq"]
    too_many = await stack.telemetry.post("/ingest", json=[ok] * 1001)
    assert too_many.status_code == 422


def _raw_about(terminal_id: str):  # type: ignore[no-untyped-def]
    return lambda r: r.json().get("terminal_id") == terminal_id


async def test_readings_are_judged_by_the_clock_telemetry_is_given(stack: Stack) -> None:
    """The clock is injected: with telemetry's clock an hour behind, a reading stamped now is
    from the future; with the wall clock back, the same reading is accepted."""
    terminal, _ = await stack.provision(profile="chilled")
    now = datetime.now(UTC).replace(microsecond=0)
    reading = terminal.reading(now - timedelta(seconds=30), temp_c=3.0)
    telemetry = stack.telemetry_app.state.telemetry
    wall = telemetry.now
    telemetry.now = lambda: wall() - 3600
    try:
        early = (await stack.telemetry.post("/ingest", json=[reading])).json()
    finally:
        telemetry.now = wall
    on_time = (await stack.telemetry.post("/ingest", json=[reading])).json()
    assert [(x["status"], x.get("reason")) for x in early["results"]] == [("rejected", "future_ts")]
    assert [x["status"] for x in on_time["results"]] == ["accepted"]
