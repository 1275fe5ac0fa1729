"""The closed loop as the fault tests drive it: the six services as processes that can be
killed and restarted on their ports, a city of freezers and complained-about stalls provisioned
through the registry, the calls that outlive a killed service, and the oracle that compares the
effects with what was sent (tests/faults/test_chaos.py, tests/faults/test_failover.py).

The load: freezers whose doors are left open (a major risk each, then recovery), and citizens'
complaints about other stalls (accepted, inspected, closed substantiated). Inspectors complete
every task with a major finding. Expected, per freezer's merchant: one risk raised and cleared,
one task, one rectification, ledger = registered, finding.major, food_safety_risk.confirmed
(score 75); per complained-about merchant: one complaint closed, one task, one rectification,
ledger = registered, finding.major, complaint.substantiated (score 80).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from tests.support.city import bearer, start_group_at_end
from tests.support.credit_codes import fresh_credit_code
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.process import ROOT
from tests.support.readings import Terminal, encode

SERVICES = ("registry", "telemetry", "inspection", "complaints", "credit", "campaign")
CHAIN_TOPICS = (
    "telemetry.risks.v1",
    "inspection.events.v1",
    "complaints.events.v1",
    "credit.scores.v1",
)
# Where each service's groups start at the topic end, so it sees only what the run publishes.
# Credit reads its topics from the beginning, so the rebuild (which does too) sees the same.
GROUPS_AT_END = {
    "registry": ("inspection.events.v1", "registry.campaign.v1"),
    "telemetry": ("telemetry.readings.v1",),
    "inspection": ("telemetry.risks.v1", "complaints.events.v1", "registry.campaign.v1"),
    "complaints": ("complaints.intake.v1", "inspection.events.v1"),
    "campaign": ("inspection.events.v1",),
}
FREEZER_SCORE, COMPLAINT_SCORE = 75, 80


# -- services as processes that can be killed and restarted on the same port --------------------


def fixed_port(start: int = 22100) -> int:
    """A free port below the ephemeral range (32768+): a restarted service binds it again, and
    no outgoing connection can be holding it as its local port meanwhile."""
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


async def readiness(proc: Proc, timeout: float = 5) -> dict[str, Any]:
    """The service's /readyz answer with its status code (None: no answer)."""
    try:
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{proc.url}/readyz", timeout=timeout)
        return {"code": r.status_code, **r.json()}
    except (httpx.HTTPError, ValueError):
        return {"code": None}


@asynccontextmanager
async def closed_loop(
    kafka: str, service_env: dict[str, str], prefix: str, log_dir: Path
) -> AsyncIterator[Run]:
    """The six services of one run (groups `<prefix>-<service>-<tag>`, schemas likewise, each
    group at the end of its topics), ready, with an idempotent acks=all producer for readings;
    stopped (SIGTERM, then SIGKILL after 30 s) when the block ends."""
    tag = uuid.uuid4().hex[:6]
    env = dict(service_env)
    for name in SERVICES:
        upper = name.upper()
        env[f"{upper}_CONSUMER_GROUP"] = f"{prefix}-{name}-{tag}"
        env[f"{upper}_DB_SCHEMA"] = f"{prefix}_{name}_{tag}"
        env[f"{upper}_OUTBOX_POLL_INTERVAL_S"] = "0.1"
    for name, topics in GROUPS_AT_END.items():
        for topic in topics:
            await start_group_at_end(kafka, f"{prefix}-{name}-{tag}", topic)
    await start_group_at_end(kafka, f"{prefix}-inspection-{tag}-scores", "credit.scores.v1")
    ports: list[int] = []
    for _ in SERVICES:
        ports.append(fixed_port((ports[-1] + 1) if ports else 22100))
    procs = {
        n: Proc(n, port, env, log_dir / f"{n}.log") for n, port in zip(SERVICES, ports, strict=True)
    }
    for p in procs.values():
        p.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for p in procs.values():
            await p.ready()
        yield Run(procs, f"{prefix}{tag}", "", producer)
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


async def provision(
    run: Run, freezers: int, complaints: int, name: str = "混沌", interval_s: int = 60
) -> None:
    """A district, a market with its task force, and `freezers + complaints` merchants: the
    first `freezers` with a frozen-goods cold-chain terminal each, reporting every
    `interval_s` (a terminal silent for three intervals raises a monitoring-gap risk)."""
    admin = bearer("admin", "*")
    reg = run.url("registry")
    await call(
        reg, "POST", "/districts", headers=admin, json={"code": run.district, "name": f"{name}区"}
    )
    market = (
        await call(
            reg,
            "POST",
            "/markets",
            headers=admin,
            json={
                "name": f"{name}市场",
                "district": run.district,
                "kind": "farmers",
                "operator": f"{name}市场公司",
                "address": f"{name}路1号",
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
    for i in range(freezers + complaints):
        stall_no = f"X-{i:02d}"
        merchant = (
            await call(
                reg,
                "POST",
                "/merchants",
                headers=admin,
                json={
                    "name": f"{name}商户{i}",
                    "market_id": run.market_id,
                    "stall_no": stall_no,
                    "credit_code": fresh_credit_code(),
                    "food_licence": "JY13706020012345",
                    "licence_valid_until": (date.today() + timedelta(days=200)).isoformat(),
                    "categories": [],
                },
            )
        ).json()
        stall = Stall(merchant["id"], stall_no)
        if i < freezers:
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
                        "interval_s": interval_s,
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


def door_left_open(stall: Stall, start: datetime) -> list[dict[str, Any]]:
    """−5 °C is 10 °C past the frozen profile's −15 °C limit: a major risk at once."""
    assert stall.freezer is not None
    return stall.freezer.series(start, [-19.0, -5.0, -4.0, -5.0])


def door_closed(stall: Stall, start: datetime) -> list[dict[str, Any]]:
    """Back in range for 12 minutes from 4 minutes after `start`: the risk clears."""
    assert stall.freezer is not None
    return stall.freezer.series(start + timedelta(minutes=4), [-19.0] * 13)


async def complain(run: Run, stall: Stall) -> None:
    """A citizen's complaint about the stall, accepted by a handler (retried through kills)."""
    handler, cmp = run.as_("handler"), run.url("complaints")
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
    await call(cmp, "POST", f"/complaints/{receipt['id']}/accept", headers=handler, ok=(200, 409))


async def close_complaint(run: Run, stall: Stall) -> None:
    await call(
        run.url("complaints"),
        "POST",
        f"/complaints/{stall.complaint_id}/close",
        headers=run.as_("handler"),
        json={"outcome": "refunded", "substantiated": True, "satisfaction": 3},
        ok=(200, 409),
    )


async def work_tasks(run: Run, merchants: set[str], within: float = 180) -> dict[str, str]:
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

    await until(listed, within=within, every=1, what="a task for every merchant")
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


# -- settling and the oracle ----------------------------------------------------------------------


async def settle(run: Run, watchers: dict[str, TopicWatcher], within: float = 180) -> None:
    """Wait for every expected score and every risk cleared, then drain the chain's topics."""
    crd, reader = run.url("credit"), run.as_("inspector")

    async def scored(stall: Stall, expected: int) -> bool:
        r = await call(
            crd, "GET", f"/merchants/{stall.merchant_id}/credit", headers=reader, ok=(200, 404)
        )
        return r.status_code == 200 and r.json()["score"] == expected

    for stall in run.freezers:
        await until(
            lambda s=stall: scored(s, FREEZER_SCORE), within=within, every=1, what="freezer score"
        )
    for stall in run.complained:
        await until(
            lambda s=stall: scored(s, COMPLAINT_SCORE),
            within=within,
            every=1,
            what="complaint score",
        )

    async def cleared() -> bool:
        for w in watchers.values():
            await w.drain(settle_s=0.2)
        risks = watchers["telemetry.risks.v1"].records
        return all(
            distinct(
                risks,
                lambda b, t=s.freezer.id: (  # type: ignore[union-attr]
                    b["type"] == "telemetry.risk.cleared" and b["data"]["terminal_id"] == t
                ),
            )
            for s in run.freezers
        )

    await until(cleared, within=120, every=1, what="every risk cleared")
    for w in watchers.values():
        await w.drain(settle_s=2.0)


@dataclass
class Tally:
    expected: int = 0
    found: int = 0
    duplicates: int = 0
    missing: int = 0


@dataclass
class Oracle:
    """Per kind of effect: how many were expected, found (up to expected), doubled, missing."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def expect(self, what: str, found: int, expected: int) -> None:
        tally = self.tallies.setdefault(what, Tally())
        tally.expected += expected
        tally.found += min(found, expected)
        if found > expected:
            tally.duplicates += found - expected
            self.problems.append(f"{what}: {found} found, {expected} expected")
        if found < expected:
            tally.missing += expected - found
            self.problems.append(f"{what}: {found} found, {expected} expected")

    def counts(self) -> Counter[str]:
        """`<kind> expected|found|duplicates|missing` → n."""
        counts: Counter[str] = Counter()
        for what, t in self.tallies.items():
            counts[f"{what} expected"] += t.expected
            counts[f"{what} found"] += t.found
            counts[f"{what} duplicates"] += t.duplicates
            counts[f"{what} missing"] += t.missing
        return counts

    def table(self) -> list[str]:
        width = max(len(w) for w in self.tallies)
        lines = [f"{'effect':<{width}}  expected  found  duplicates  missing"]
        for what, t in self.tallies.items():
            counts = f"{t.expected:>8}  {t.found:>5}  {t.duplicates:>10}  {t.missing:>7}"
            lines.append(f"{what:<{width}}  {counts}")
        return lines


async def judge(run: Run, risks: list[Record], inspections: list[Record]) -> Oracle:
    """Every expected effect once: risks, tasks, rectifications, task events, complaints,
    credit adjustments, and a ledger entry for every completion on the topic."""
    oracle = Oracle()
    expect = oracle.expect
    ins, cmp, crd = run.url("inspection"), run.url("complaints"), run.url("credit")
    admin = bearer("admin", "*")
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
    return oracle
