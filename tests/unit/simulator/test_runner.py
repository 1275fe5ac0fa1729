"""The run loop with in-memory sinks, the HTTP ingest sink against a fake endpoint, and the fault
control endpoint over real sockets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from contracts.telemetry import verify
from simulator.clock import Pacer
from simulator.control import Controller, ControlServer
from simulator.engine import Emission, Engine
from simulator.faults import parse_spec
from simulator.runner import RunLimits, Runner
from simulator.sink import HttpIngestSink, StdoutSink, rejections
from tests.support.poll import until
from tests.support.simulator_cities import city, key

T0 = datetime(2026, 5, 4, 0, 0, tzinfo=UTC).timestamp()
FAST = Pacer(event0=T0, wall0=T0, speed=math.inf)


class Memory:
    name = "memory"

    def __init__(self) -> None:
        self.batches: list[list[Emission]] = []
        self.started = self.closed = False

    async def start(self) -> None:
        self.started = True

    async def emit(self, batch: Sequence[Emission]) -> None:
        self.batches.append(list(batch))

    async def close(self) -> None:
        self.closed = True

    def stats(self) -> dict[str, int]:
        return {"sent": sum(map(len, self.batches))}

    @property
    def values(self) -> list[bytes]:
        return [e.value for batch in self.batches for e in batch]


async def test_a_count_stops_the_run_exactly_and_closes_the_sinks() -> None:
    sink = Memory()
    engine = Engine(city(), seed=1, start=T0)
    engine.schedule(
        parse_spec("forge:terminal=all,duration=1h")
    )  # two messages per step: count still exact
    summary = await Runner(engine, [sink], FAST, RunLimits(count=1234, max_batch=100)).run()
    assert len(sink.values) == 1234 and sink.started and sink.closed
    assert max(map(len, sink.batches)) <= 101
    assert summary["sent"] == 1234 and summary["forged"] >= 600


async def test_an_end_time_covers_exactly_that_event_time() -> None:
    sink = Memory()
    engine = Engine(city(), seed=1, start=T0)
    await Runner(engine, [sink], FAST, RunLimits(end=T0 + 3600)).run()
    times = [orjson.loads(v)["ts"] for v in sink.values]
    assert len(times) == 600 and times[-1] < "2026-05-04T01:00:00Z"


async def test_live_pacing_waits_for_event_time_and_a_stop_ends_the_wait() -> None:
    sink = Memory()
    now = datetime.now(UTC).timestamp()
    engine = Engine(city(), seed=1, start=now + 3600)  # nothing due for an hour
    runner = Runner(engine, [sink], Pacer(event0=now + 3600, wall0=now), RunLimits())
    task = asyncio.create_task(runner.run())
    await until(lambda: sink.started, within=5, what="sink started")
    runner.stop()
    summary = await asyncio.wait_for(task, timeout=5)
    assert sink.values == [] and sink.closed and summary["sent"] == 0


async def test_a_summary_is_logged_periodically(caplog: pytest.LogCaptureFixture) -> None:
    # A wall clock long after the event times (nothing waits), moving 7 s per look.
    ticks = iter(range(int(T0) + 86_400, int(T0) + 186_400, 7))
    runner = Runner(
        Engine(city(), seed=1, start=T0),
        [Memory()],
        FAST,
        RunLimits(count=50, summary_every_s=10, max_batch=5),
        wall=lambda: float(next(ticks)),
    )
    with caplog.at_level(logging.INFO, logger="simulator"):
        await runner.run()
    summaries = [r for r in caplog.records if r.msg == "summary"]
    assert summaries and all(r.__dict__["by_kind"] for r in summaries)
    assert [r.msg for r in caplog.records][-1] == "finished"


async def test_stdout_sink_writes_json_lines() -> None:
    out = io.BytesIO()
    await Runner(
        Engine(city(), seed=1, start=T0), [StdoutSink(out)], FAST, RunLimits(count=25)
    ).run()
    lines = out.getvalue().splitlines()
    assert len(lines) == 25
    assert all(verify(r, key(r["terminal_id"])) for r in map(orjson.loads, lines))


# -- HTTP ingest -----------------------------------------------------------------------------


async def test_ingest_sink_posts_arrays_retries_server_errors_and_counts_rejections() -> None:
    posts: list[list[dict[str, object]]] = []
    failures = iter([True, False, False, False, False])

    def ingest(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/ingest"
        assert request.headers["content-type"] == "application/json"
        if next(failures):
            return httpx.Response(503)
        readings = json.loads(request.content)
        posts.append(readings)
        results = [
            {"seq": r["seq"], "status": "accepted"}
            if i % 10
            else {"seq": r["seq"], "reason": "replay"}
            for i, r in enumerate(readings)
        ]
        return httpx.Response(200, json={"results": results})

    sink = HttpIngestSink(
        "http://telemetry:8102", chunk=40, backoff_s=0.001, transport=httpx.MockTransport(ingest)
    )
    engine = Engine(city(), seed=1, start=T0)
    await Runner(engine, [sink], FAST, RunLimits(count=100)).run()
    assert [len(p) for p in posts] == [40, 40, 20]
    assert all(verify(r, key(str(r["terminal_id"]))) for p in posts for r in p)
    assert sink.stats() == {
        "sent": 100,
        "accepted": 90,
        "rejected": 10,
        "failed": 0,
        "rejected_replay": 10,
    }


async def test_ingest_sink_gives_up_on_an_unreachable_endpoint_without_crashing() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sink = HttpIngestSink(
        "http://telemetry/ingest", attempts=2, backoff_s=0.001, transport=httpx.MockTransport(down)
    )
    await Runner(Engine(city(), seed=1, start=T0), [sink], FAST, RunLimits(count=10)).run()
    assert sink.stats()["failed"] == 10


def test_rejections_are_read_from_the_common_answer_shapes() -> None:
    def answer(body: object) -> httpx.Response:
        return httpx.Response(200, json=body)

    telemetry = {
        "accepted": 1,
        "rejected": 2,
        "results": [
            {"index": 0, "status": "accepted"},
            {"index": 1, "status": "rejected", "reason": "signature", "field": "sig"},
            {"index": 2, "status": "rejected", "reason": "replay", "field": "seq"},
        ],
    }
    assert rejections(answer(telemetry)) == {"signature": 1, "replay": 1}
    assert rejections(answer([{"accepted": True}, {"accepted": False}])) == {"unknown": 1}
    assert rejections(answer({"items": [{"status": "rejected", "reason": "signature"}]})) == {
        "signature": 1
    }
    assert rejections(answer({"accepted": 3})) == {}
    assert rejections(httpx.Response(200, text="ok")) == {}


# -- control endpoint ------------------------------------------------------------------------


async def test_faults_on_command_through_the_control_endpoint() -> None:
    engine = Engine(city(), seed=1, start=T0)
    server = ControlServer("127.0.0.1", 0, Controller(engine, lambda: {"sent": 0}).handle)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            created = await http.post("/faults", content=b"door_open:terminal=trm_fridge_1\nreplay")
            assert created.status_code == 201
            door, replay = created.json()
            assert (door["kind"], door["terminals"], door["source"]) == (
                "door_open",
                ["trm_fridge_1"],
                "command",
            )
            as_json = await http.post("/faults", json={"spec": "refund_spree@+5m"})
            assert as_json.status_code == 201 and as_json.json()[0]["id"] == "f3"
            bad = await http.post("/faults", content=b"door_open:terminal=trm_gate_0")
            assert bad.status_code == 400 and "needs a cold_chain" in bad.json()["message"]
            listed = (await http.get("/faults")).json()
            assert [f["id"] for f in listed] == ["f1", "f2", "f3"]
            stopped = await http.delete(f"/faults/{replay['id']}")
            assert stopped.status_code == 200 and stopped.json()["end"] == stopped.json()["start"]
            assert (await http.get("/faults/f1")).json()["kind"] == "door_open"
            assert (await http.get("/faults/f9")).status_code == 404
            assert (await http.put("/faults", content=b"x")).status_code == 405
            assert (await http.get("/status")).json() == {"sent": 0}
            assert (await http.get("/nope")).status_code == 404
            huge = await http.post("/faults", content=b"x" * 70_000)
            assert huge.status_code == 413
    finally:
        await server.close()
    assert engine.faults.acting("trm_fridge_1", T0 + 60)[0].kind == "door_open"
