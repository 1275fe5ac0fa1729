"""Nothing lost, nothing doubled: the closed loop runs while every service is SIGKILLed again and
again, the broker is restarted and PostgreSQL is restarted; then the effects are compared with an
oracle computed from what was sent.

The load: freezers whose doors are left open (a major risk each, then recovery), and citizens'
complaints about other stalls (accepted, inspected, closed substantiated). Inspectors complete
every task with a major finding. Expected, per freezer's merchant: one risk raised and cleared,
one task, one rectification, ledger = registered, finding.major, food_safety_risk.confirmed
(score 75); per complained-about merchant: one complaint closed, one task, one rectification,
ledger = registered, finding.major, complaint.substantiated (score 80). The credit rebuild from
the topics equals the live scores.

Runs on the local stack's test profile (it restarts that broker and that server); it is ordered
after every other test (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.support.city import bearer, start_group_at_end
from tests.support.infra import Endpoints
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.process import ROOT
from tests.support.readings import Terminal, encode

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")
KILLS_PER_SERVICE = 5
FREEZERS = 6
COMPLAINTS = 4
CHAIN_TOPICS = (
    "telemetry.risks.v1",
    "inspection.events.v1",
    "complaints.events.v1",
    "credit.scores.v1",
)


# -- services as processes that can be killed and restarted on the same port --------------------


def fixed_port(start: int = 22100) -> int:
    """A free port below the ephemeral range (32768+): a restarted service binds it again, and
    no outgoing connection can be holding it as its local port meanwhile."""
    import socket

    for port in range(start, start + 800):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


@dataclass
class Proc:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env={**os.environ, **self.env, f"{self.name.upper()}_HTTP_PORT": str(self.port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    async def ready(self, within: float = 120) -> None:
        async def check() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}/readyz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await until(check, within=within, every=0.2, what=f"{self.name} ready")


# -- calls that outlive a killed service ---------------------------------------------------------


async def call(
    base: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
    ok: tuple[int, ...] = (200, 201),
    within: float = 120,
) -> httpx.Response:
    """Retry through connection errors, 5xx and 503 until one of `ok` answers."""
    deadline = time.monotonic() + within
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                r = await http.request(method, path, headers=headers, json=json)
            if r.status_code in ok:
                return r
            last = f"{r.status_code} {r.text[:300]}"
            if r.status_code < 500 and r.status_code not in (404, 422, 429):
                raise AssertionError(f"{method} {path}: {last}")
        except httpx.HTTPError as exc:
            last = repr(exc)
        await asyncio.sleep(0.3)
    raise TimeoutError(f"{method} {path}: {last}")


# -- the city of the run --------------------------------------------------------------------------


@dataclass
class Stall:
    merchant_id: str
    stall_no: str
    freezer: Terminal | None = None
    complaint_id: str | None = None


@dataclass
class Run:
    procs: dict[str, Proc]
    district: str
    market_id: str
    producer: AIOKafkaProducer
    freezers: list[Stall] = field(default_factory=list)
    complained: list[Stall] = field(default_factory=list)

    def url(self, service: str) -> str:
        return self.procs[service].url

    def as_(self, role: str) -> dict[str, str]:
        return bearer(role, self.district)


def require_test_profile(endpoints: Endpoints) -> None:
    if endpoints.origin != "local stack (test)":
        raise RuntimeError(
            "the fault tests restart the broker and the database: they run on the local "
            f"stack's test profile, not on {endpoints.origin}"
        )


async def provision(run: Run) -> None:
    admin = bearer("admin", "*")
    reg = run.url("registry")
    await call(
        reg, "POST", "/districts", headers=admin, json={"code": run.district, "name": "混沌区"}
    )
    market = (
        await call(
            reg,
            "POST",
            "/markets",
            headers=admin,
            json={
                "name": "混沌市场",
                "district": run.district,
                "kind": "farmers",
                "operator": "混沌市场公司",
                "address": "混沌路1号",
                "capacity": 500,
                "opening_hours": {"open": "00:00", "close": "23:59"},
            },
        )
    ).json()
    run.market_id = market["id"]
    await call(
        reg,
        "PUT",
        f"/markets/{run.market_id}/task-force",
        headers=admin,
        json={"leader": "郑队长", "members": ["冯"]},
    )
    for i in range(FREEZERS + COMPLAINTS):
        stall_no = f"X-{i:02d}"
        merchant = (
            await call(
                reg,
                "POST",
                "/merchants",
                headers=admin,
                json={
                    "name": f"混沌商户{i}",
                    "market_id": run.market_id,
                    "stall_no": stall_no,
                    "credit_code": "914403001922038216",
                    "food_licence": "JY13706020012345",
                    "licence_valid_until": (date.today() + timedelta(days=200)).isoformat(),
                    "categories": [],
                },
            )
        ).json()
        stall = Stall(merchant["id"], stall_no)
        if i < FREEZERS:
            t = (
                await call(
                    reg,
                    "POST",
                    "/terminals",
                    headers=admin,
                    json={
                        "kind": "cold_chain",
                        "market_id": run.market_id,
                        "merchant_id": merchant["id"],
                        "profile": "frozen",
                        "interval_s": 60,
                    },
                )
            ).json()
            stall.freezer = Terminal(t["id"], t["key"])
            run.freezers.append(stall)
        else:
            run.complained.append(stall)


async def send(run: Run, readings: list[dict[str, Any]]) -> None:
    for r in readings:
        await run.producer.send("telemetry.readings.v1", encode(r), key=r["terminal_id"].encode())
    await run.producer.flush()


async def work_tasks(run: Run, merchants: set[str]) -> dict[str, str]:
    """An inspector claims and completes, with a major finding, the open task of each merchant;
    retried through kills. Returns merchant → task id."""
    ins, inspector = run.url("inspection"), run.as_("inspector")
    done: dict[str, str] = {}

    async def listed() -> bool:
        r = await call(ins, "GET", "/tasks?state=open&limit=1000", headers=inspector)
        for t in r.json()["items"]:
            if t["merchant_id"] in merchants and t["merchant_id"] not in done:
                done[t["merchant_id"]] = t["id"]
        return set(done) == merchants

    await until(listed, within=180, every=1, what="a task for every merchant")
    for task_id in done.values():
        await call(ins, "POST", f"/tasks/{task_id}/claim", headers=inspector)
        await call(
            ins,
            "POST",
            f"/tasks/{task_id}/complete",
            headers=inspector,
            json={
                "outcome": "major",
                "findings": [{"code": "CCH-01", "note": "混沌测试"}],
                "departments": ["market_regulation"],
            },
            ok=(200, 409),  # 409: completed by the try a kill interrupted
        )
    return done


async def chaos(run: Run, stop: asyncio.Event) -> None:
    """SIGKILL every service at random moments, restarting each at once, until each has died
    KILLS_PER_SERVICE times (and keep going while the flows still run).

    A service is killed while it starts up at most once in a row: the next time it is killed
    only after it became ready. With six services a round of kills is about ten seconds, less
    than a start takes on a busy two-core machine, so without that a service could be killed
    before every chance to serve and the flows could never finish."""
    rng = random.Random(int.from_bytes(os.urandom(4)))
    killed_starting = dict.fromkeys(SERVICES, False)
    while not stop.is_set() or min(p.kills for p in run.procs.values()) < KILLS_PER_SERVICE:
        names = list(SERVICES)
        rng.shuffle(names)
        for name in names:
            await asyncio.sleep(rng.uniform(0.5, 3.0))
            proc = run.procs[name]
            starting = (await readiness(proc))["code"] != 200
            if starting and killed_starting[name]:
                await proc.ready()
                await asyncio.sleep(rng.uniform(0.0, 2.0))
                starting = False
            killed_starting[name] = starting
            proc.kill()
            proc.start()
        if min(p.kills for p in run.procs.values()) >= KILLS_PER_SERVICE and stop.is_set():
            break


async def readiness(proc: Proc) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{proc.url}/readyz", timeout=5)
        return {"code": r.status_code, **r.json()}
    except (httpx.HTTPError, ValueError):
        return {"code": None}


async def restart_broker_and_database(run: Run) -> dict[str, int]:
    """Stop and start the broker, then the database, under the running services; readiness
    must go false while each is away and come back without a restart. Returns how many
    services were seen not ready, per outage."""
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    import stack  # the local stack's own components

    profile = stack.profiles()["test"]
    kafka, postgres = stack.Kafka(profile), stack.Postgres(profile)
    pids = {n: p.proc.pid for n, p in run.procs.items() if p.proc}
    seen: dict[str, int] = {}

    async def all_unready(what: str) -> None:
        last: dict[str, Any] = {}

        async def check() -> bool:
            last.update({n: await readiness(p) for n, p in run.procs.items()})
            return all(
                s["code"] == 503 and s.get("checks", {}).get(what) is False for s in last.values()
            )

        try:
            await until(check, within=60, every=0.5, what=f"every service unready without {what}")
        except TimeoutError as exc:
            raise AssertionError(f"readiness without {what}: {last}") from exc
        seen[what] = len(run.procs)

    print("chaos: stopping the broker:", kafka.stop())
    await all_unready("kafka")
    kafka.start()
    deadline = time.monotonic() + 120
    await stack._poll("kafka", lambda: stack.kafka_answers(profile.bootstrap), deadline)
    for p in run.procs.values():
        await p.ready(within=120)
    print("chaos: broker back; every service ready again")
    print("chaos: stopping postgres:", postgres.stop())
    await all_unready("database")
    postgres.start()  # pg_ctl -w: returns once it accepts connections
    for p in run.procs.values():
        await p.ready(within=120)
    print("chaos: postgres back; every service ready again")
    assert {n: p.proc.pid for n, p in run.procs.items() if p.proc} == pids, "a service restarted"
    return seen


@pytest.fixture
async def run(
    endpoints: Endpoints,
    service_env: dict[str, str],
    kafka: str,
    tmp_path: Path,
) -> AsyncIterator[Run]:
    require_test_profile(endpoints)
    tag = uuid.uuid4().hex[:6]
    env = dict(service_env)
    for name in SERVICES:
        prefix = name.upper()
        env[f"{prefix}_CONSUMER_GROUP"] = f"chaos-{name}-{tag}"
        env[f"{prefix}_DB_SCHEMA"] = f"chaos_{name}_{tag}"
        env[f"{prefix}_OUTBOX_POLL_INTERVAL_S"] = "0.1"
    # Credit reads its topics from the beginning, so the rebuild (which does too) sees the same.
    starts = {
        "registry": ("inspection.events.v1", "registry.campaign.v1"),
        "telemetry": ("telemetry.readings.v1",),
        "inspection": ("telemetry.risks.v1", "complaints.events.v1", "registry.campaign.v1"),
        "complaints": ("complaints.intake.v1", "inspection.events.v1"),
        "campaign": ("inspection.events.v1",),
    }
    for name, topics in starts.items():
        for topic in topics:
            await start_group_at_end(kafka, f"chaos-{name}-{tag}", topic)
    await start_group_at_end(kafka, f"chaos-inspection-{tag}-scores", "credit.scores.v1")
    ports: list[int] = []
    for _ in SERVICES:
        ports.append(fixed_port((ports[-1] + 1) if ports else 22100))
    procs = {
        n: Proc(n, port, env, tmp_path / f"{n}.log")
        for n, port in zip(SERVICES, ports, strict=True)
    }
    for p in procs.values():
        p.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for p in procs.values():
            await p.ready()
        yield Run(procs, f"chaos{tag}", "", producer)
    finally:
        await producer.stop()
        for p in procs.values():
            if p.proc and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in procs.values():
            if p.proc:
                try:
                    p.proc.wait(30)
                except subprocess.TimeoutExpired:
                    p.proc.kill()


def distinct(records: list[Record], predicate: Callable[[dict[str, Any]], bool]) -> list[dict]:  # type: ignore[type-arg]
    """The events (each id once: at-least-once delivery may repeat a record) matching."""
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        try:
            body = r.json()
        except ValueError:
            continue
        if isinstance(body, dict) and "id" in body and predicate(body):
            seen.setdefault(body["id"], body)
    return list(seen.values())


async def test_kills_and_restarts_lose_nothing_and_double_nothing(
    run: Run, kafka: str, database_url: str
) -> None:
    watchers = {t: TopicWatcher(kafka, t) for t in CHAIN_TOPICS}
    for w in watchers.values():
        await w.__aenter__()
    stop = asyncio.Event()
    chaos_task: asyncio.Task[None] | None = None
    try:
        await provision(run)
        chaos_task = asyncio.create_task(chaos(run, stop))
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
        # Every freezer's door is left open: −5 °C is 10 °C past the −15 °C limit (major).
        for stall in run.freezers:
            assert stall.freezer is not None
            await send(run, stall.freezer.series(start, [-19.0, -5.0, -4.0, -5.0]))
        handler, cmp = run.as_("handler"), run.url("complaints")
        for stall in run.complained:
            receipt = (
                await call(
                    cmp,
                    "POST",
                    "/complaints",
                    headers={"Idempotency-Key": f"chaos-{stall.merchant_id}"},
                    json={
                        "complainant": {"name": "钱先生", "phone": "13905351111"},
                        "market_id": run.market_id,
                        "stall_no": stall.stall_no,
                        "category": "short_weight",
                        "facts": f"{stall.stall_no} 称重不足 {uuid.uuid4().hex}",
                        "request": "退款",
                        "channel": "web",
                    },
                    ok=(201,),
                )
            ).json()
            stall.complaint_id = receipt["id"]
            await call(
                cmp, "POST", f"/complaints/{receipt['id']}/accept", headers=handler, ok=(200, 409)
            )
        everyone = {s.merchant_id for s in (*run.freezers, *run.complained)}
        tasks = await work_tasks(run, everyone)
        stop.set()
        await chaos_task
        for p in run.procs.values():
            await p.ready()  # the broker and the database then go away under running services

        # The broker and the database go away and come back while the loop finishes.
        unready = await restart_broker_and_database(run)
        for stall in run.freezers:
            assert stall.freezer is not None
            await send(
                run, stall.freezer.series(start + timedelta(minutes=4), [-19.0] * 13)
            )  # recovery: the risks clear
        for p in run.procs.values():
            await p.ready(within=180)
        for stall in run.complained:
            await call(
                cmp,
                "POST",
                f"/complaints/{stall.complaint_id}/close",
                headers=handler,
                json={"outcome": "refunded", "substantiated": True, "satisfaction": 3},
                ok=(200, 409),
            )

        # Settle: wait for every expected effect, then look for anything doubled.
        crd, reader = run.url("credit"), run.as_("inspector")

        async def scored(stall: Stall, expected: int) -> bool:
            r = await call(
                crd, "GET", f"/merchants/{stall.merchant_id}/credit", headers=reader, ok=(200, 404)
            )
            return r.status_code == 200 and r.json()["score"] == expected

        for stall in run.freezers:
            await until(lambda s=stall: scored(s, 75), within=180, every=1, what="freezer score")
        for stall in run.complained:
            await until(lambda s=stall: scored(s, 80), within=180, every=1, what="complaint score")

        async def cleared() -> bool:
            for w in watchers.values():
                await w.drain(settle_s=0.2)
            risks = watchers["telemetry.risks.v1"].records
            return all(
                distinct(
                    risks,
                    lambda b, t=s.freezer.id: (
                        b["type"] == "telemetry.risk.cleared"  # type: ignore[union-attr]
                        and b["data"]["terminal_id"] == t
                    ),
                )
                for s in run.freezers
            )

        await until(cleared, within=120, every=1, what="every risk cleared")
        for w in watchers.values():
            await w.drain(settle_s=2.0)
    finally:
        stop.set()
        if chaos_task is not None and not chaos_task.done():
            # A failed test must not leave the chaos restarting services after the fixture
            # stopped them (seen: a complaints process outliving its run).
            chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos_task
        for w in watchers.values():
            await w.__aexit__(None, None, None)

    # -- the oracle ----------------------------------------------------------------------------
    counts: Counter[str] = Counter()
    problems: list[str] = []

    def expect(what: str, found: int, expected: int) -> None:
        counts[f"{what} expected"] += expected
        counts[f"{what} found"] += min(found, expected)
        counts[f"{what} duplicates"] += 0
        counts[f"{what} missing"] += 0
        if found > expected:
            counts[f"{what} duplicates"] += found - expected
            problems.append(f"{what}: {found} found, {expected} expected")
        if found < expected:
            counts[f"{what} missing"] += expected - found
            problems.append(f"{what}: {found} found, {expected} expected")

    risks = watchers["telemetry.risks.v1"].records
    inspections = watchers["inspection.events.v1"].records
    ins, admin = run.url("inspection"), bearer("admin", "*")
    all_tasks = (await call(ins, "GET", "/tasks?limit=1000", headers=admin)).json()["items"]
    all_orders = (await call(ins, "GET", "/rectifications?limit=1000", headers=admin)).json()[
        "items"
    ]
    for stall in run.freezers:
        tid = stall.freezer.id  # type: ignore[union-attr]
        raised = distinct(
            risks,
            lambda b, t=tid: b["type"] == "telemetry.risk.raised" and b["data"]["terminal_id"] == t,
        )
        expect("risks raised", len({b["data"]["risk_id"] for b in raised}), 1)
    for stall in (*run.freezers, *run.complained):
        mine = [
            t
            for t in all_tasks
            if t["merchant_id"] == stall.merchant_id and t["reason_kind"] in ("risk", "complaint")
        ]
        expect("tasks", len(mine), 1)
        expect(
            "rectifications",
            len([o for o in all_orders if o["merchant_id"] == stall.merchant_id]),
            1,
        )
        created = distinct(
            inspections,
            lambda b, m=stall.merchant_id: (
                b["type"] == "inspection.task.created" and b["data"]["merchant_id"] == m
            ),
        )
        expect("task.created events (distinct)", len({b["subject"] for b in created}), 1)
    for stall in run.complained:
        case = (await call(cmp, "GET", f"/complaints/{stall.complaint_id}", headers=admin)).json()
        expect("complaints closed", int(case["state"] == "closed"), 1)
        listed = (
            await call(
                cmp, "GET", f"/complaints?market_id={run.market_id}&limit=1000", headers=admin
            )
        ).json()["items"]
        expect(
            "complaints for the merchant",
            len([c for c in listed if c["merchant_id"] == stall.merchant_id]),
            1,
        )
    ledgers: dict[str, list[dict[str, Any]]] = {}
    for stall, kinds in [
        *[
            (s, ["food_safety_risk.confirmed", "inspection.finding.major", "merchant.registered"])
            for s in run.freezers
        ],
        *[
            (s, ["complaint.substantiated", "inspection.finding.major", "merchant.registered"])
            for s in run.complained
        ],
    ]:
        body = (
            await call(crd, "GET", f"/merchants/{stall.merchant_id}/credit", headers=admin)
        ).json()
        ledgers[stall.merchant_id] = body["ledger"]
        found = Counter(e["kind"] for e in body["ledger"])
        for kind in kinds:
            expect(f"adjustments {kind}", found[kind], 1)
        expect("adjustments (all kinds)", sum(found.values()), len(kinds))
    # Every completion on the topic has its effect in the ledger.
    for body in distinct(inspections, lambda b: b["type"] == "inspection.task.completed"):
        merchant = body["data"]["merchant_id"]
        if merchant in ledgers:
            expect(
                "completions with a ledger entry",
                int(any(e["event_id"] == body["id"] for e in ledgers[merchant])),
                1,
            )
    assert len(tasks) == FREEZERS + COMPLAINTS

    # The rebuild from the topics equals the live scores.
    schema = f"rebuild_{uuid.uuid4().hex[:6]}"
    rebuilt = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.credit", "rebuild", "--schema", schema,
        cwd=ROOT, env={**os.environ, **run.procs["credit"].env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(rebuilt.communicate(), 300))[0].decode()
    print(output[-2000:])
    counts["rebuild identical"] = int(rebuilt.returncode == 0)
    if rebuilt.returncode != 0:
        problems.append(f"rebuild differs:\n{output[-3000:]}")

    # The complainants' phones and names never reach a log.
    for proc in run.procs.values():
        text = proc.log.read_text(errors="replace")
        assert "13905351111" not in text and "钱先生" not in text, f"personal data in {proc.name}"
    counts["services unready while the broker was away"] = unready["kafka"]
    counts["services unready while the database was away"] = unready["database"]

    kills = {n: p.kills for n, p in run.procs.items()}
    print(f"\nchaos: kills {kills}; broker and postgres restarted once each")
    print("chaos: sent", {"freezers": FREEZERS, "complaints": COMPLAINTS})
    for key in sorted(counts):
        print(f"chaos: {key}: {counts[key]}")
    assert all(k >= KILLS_PER_SERVICE for k in kills.values()), kills
    assert not problems, "\n".join(problems)
