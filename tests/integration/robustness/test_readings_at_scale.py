"""Bad readings at scale (issue 9, item 2): hypothesis-generated readings, valid and broken,
signed and not, into `telemetry.readings.v1` and `POST /ingest` of an in-process telemetry
service on the real Kafka and Postgres.

The oracle is built from the generated data, not from the service: every reading carries the
defects it was made with, and the reason it must be rejected for is the defect checked first
in the order of services/telemetry/verification.py — parse (`malformed`), the contract model
(`malformed`), the terminal (`unknown_terminal`), the signature (`signature`), the terminal's
kind (`malformed`), then seq (`replay`), ts (`future_ts`) and the physical ranges
(`out_of_range`). `replay` depends on what was accepted before, so the generator keeps each
terminal's last accepted seq as the service must. Terminals are either the topic's or the
endpoint's, never both: their order is then the order they were sent in.

Checks: each rejection (on the topic, as the service's outbox shows it, and in each
`/ingest` answer, reading by reading) has the expected reason and field; each terminal's last
seq in telemetry's state is the last valid one sent; the accepted count equals the valid
count; the consumer's stored offsets pass everything sent (the partitions keep moving); nothing
went to the dead-letter topic; the service is still ready.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from contracts.telemetry import INTERVAL_RANGE_S, PHYSICAL_RANGES, RAW_MAX_CHARS, sign
from services.telemetry.api import MAX_INGEST
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import CONSUMER
from tests.support.city import InProcess, in_process, provision, start_group_at_end
from tests.support.kafka import Record, TopicWatcher
from tests.support.poll import until
from tests.support.readings import Terminal
from tests.support.scale_intents import (
    EXAMPLES,
    MODEL,
    PER_EXAMPLE,
    PLACE,
    SIGNATURE,
    UNPARSED,
    drawn_intents,
)

pytestmark = pytest.mark.integration

READINGS = "telemetry.readings.v1"
REJECTED = "telemetry.rejected.v1"
DLQ = f"{READINGS}.dlq"
RUN = uuid.uuid4().hex[:10]
KINDS = tuple(PHYSICAL_RANGES)
# Per channel: known terminals of every kind (each with a rotated key), one retired.
KNOWN_PER_KIND = 3

# -- defects and the order they are checked in -------------------------------------------------
RANK: dict[str, tuple[int, str]] = {
    **dict.fromkeys(UNPARSED, (0, "malformed")),
    **dict.fromkeys(MODEL, (1, "malformed")),
    **dict.fromkeys(PLACE, (2, "unknown_terminal")),
    **dict.fromkeys(SIGNATURE, (3, "signature")),
    "kind_mismatch": (4, "malformed"),
    "replay": (5, "replay"),
    "future_ts": (6, "future_ts"),
    "out_of_range": (7, "out_of_range"),
}
FIELD_OF_REASON = {
    "unknown_terminal": "terminal_id",
    "signature": "sig",
    "replay": "seq",
    "future_ts": "ts",
}
REQUIRED = ("terminal_id", "seq", "ts", "kind", "sig")
ALLOWED = {"interval_s", *REQUIRED, *(f for fs in PHYSICAL_RANGES.values() for f in fs)}
NUMBER_FIELDS = {"temp_c", "tx_amount"}


# -- the terminals, and the oracle's state of them ---------------------------------------------
@dataclass
class Known:
    terminal: Terminal
    stale_key: bytes
    last_seq: int = -1
    accepted: list[bytes] = field(default_factory=list)  # payloads, as sent


@dataclass
class Fleet:
    """One channel's terminals: known ones by kind, and a retired one."""

    known: list[Known]
    retired: Terminal

    def ids(self) -> set[str]:
        return {k.terminal.id for k in self.known} | {self.retired.id}


@dataclass
class Sent:
    """One reading as sent, and what must become of it."""

    channel: str
    payload: bytes  # the message value, or the item of the JSON array
    key: bytes
    reason: str | None  # None: valid, to be accepted
    field: str | None  # the offending field the rejection must name (None: not checked)
    terminal: str | None  # the known terminal whose state it moves when accepted
    seq_after: int | None  # that terminal's last seq once it was handled

    def raw(self) -> str:
        """The rejection's `raw`: the message as received; for /ingest, the parsed item as the
        endpoint writes it back."""
        if self.channel == "kafka":
            text = self.payload.decode("utf-8", errors="replace")
        else:
            item = json.loads(self.payload)
            try:
                text = orjson.dumps(item).decode()
            except TypeError:
                text = json.dumps(item, separators=(",", ":"))
        return text[:RAW_MAX_CHARS]


def _ts(at: datetime, style: str) -> str:
    base = at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
    if style == "ms":
        return f"{base}.{at.microsecond // 1000:03d}Z"
    if style == "us":
        return f"{base}.{at.microsecond:06d}Z"
    if style == "z":
        return f"{base}z"
    if style == "t":
        return base.replace("T", "t") + "Z"
    if style in ("+08:00", "-05:30"):
        sign_, hours, minutes = style[0], int(style[1:3]), int(style[4:6])
        offset = timedelta(hours=hours, minutes=minutes) * (1 if sign_ == "+" else -1)
        return (at + offset).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S") + style
    return base + "Z"


def _values(kind: str, i: dict[str, Any]) -> dict[str, Any]:
    if kind == "cold_chain":
        low, high = PHYSICAL_RANGES[kind]["temp_c"]
        temp = low + i["u"] * (high - low)
        return {"temp_c": round(temp) if i["as_int"] else round(temp, 2)}
    if kind == "footfall":
        entries, exits, occupancy = i["counts"]
        return {"entries": entries, "exits": exits, "occupancy": occupancy}
    tx_count, refunds, _ = i["counts"]
    return {"tx_count": tx_count, "refunds": refunds, "tx_amount": round(i["u"] * 1e6, 2)}


def _out_of_range(kind: str, i: dict[str, Any]) -> tuple[str, Any]:
    names = [*PHYSICAL_RANGES[kind], "interval_s"]
    name = names[i["pick"] % len(names)]
    if name == "interval_s":  # 0 or less is no interval at all (malformed): only above
        return name, INTERVAL_RANGE_S[1] + i["beyond"]
    low, high = PHYSICAL_RANGES[kind][name]
    above = i["pick"] % 2 == 0
    beyond: float = i["beyond"]
    if name in NUMBER_FIELDS:
        beyond = i["beyond"] / 7
        return name, (high + beyond) if above else (low - beyond)
    return name, int(high + beyond) if above else int(low - beyond)


def _wrong_value(name: str, i: dict[str, Any]) -> Any:
    """A value of a type the contract refuses for `name` (never a valid one by accident)."""
    pick, t = i["pick"], i["text"]
    if name in NUMBER_FIELDS:
        options: list[Any] = [t, True, None, [1.5], {"v": 1}, "12.5"]
    elif name in ("seq", "entries", "exits", "occupancy", "tx_count", "refunds"):
        options = [1.5, 3.0, str(pick), False, None, [pick]]
    else:  # terminal_id, ts, kind, sig: strings
        options = [pick, None, [t], True, 1.25]
    return options[pick % len(options)]


class Builder:
    """Turns intents into readings in send order, keeping the oracle's view of each terminal."""

    def __init__(self, fleets: dict[str, Fleet], now: datetime) -> None:
        self.fleets, self.now = fleets, now
        self.everyone = [k for f in fleets.values() for k in f.known]

    def build(self, i: dict[str, Any]) -> Sent:
        channel = i["channel"]
        fleet = self.fleets[channel]
        defects = set(i["defects"])
        if channel == "ingest" and "bad_json" in defects:  # an item of a JSON array is JSON
            defects = (defects - {"bad_json"}) | {"not_object"}
        if "bad_json" in defects:
            junk: bytes = i["junk"]
            payload = b'{"terminal_id":"trm_' + RUN.encode() + b'",' + junk
            return self._sent(channel, payload, b"garbage", defects, None, None, None)
        if "not_object" in defects:
            shapes: list[Any] = [[RUN, i["pick"]], f"{RUN}:{i['text']}", [RUN, None, i["u"]]]
            item = shapes[i["pick"] % len(shapes)]
            return self._sent(channel, orjson.dumps(item), b"garbage", defects, None, None, None)

        known = fleet.known[i["slot"] % len(fleet.known)]
        if "replay" in defects and known.last_seq < 0:
            defects.discard("replay")  # nothing accepted yet: no seq to replay
        if "replay" in defects and i["verbatim"] and known.accepted:
            # The very bytes of a reading accepted before, sent again.
            payload = known.accepted[-1 - i["back"] % len(known.accepted)]
            tid = known.terminal.id
            return self._sent(channel, payload, tid.encode(), {"replay"}, None, known, None)

        kind = known.terminal.kind
        if "kind_mismatch" in defects:
            kind = KINDS[(KINDS.index(kind) + 1 + i["pick"] % 2) % len(KINDS)]
        if "replay" in defects:
            seq = max(0, known.last_seq - i["back"])
        else:
            seq = known.last_seq + i["step"]
        at = self.now + timedelta(seconds=i["ahead_s"] if "future_ts" in defects else -i["age_s"])
        body: dict[str, Any] = {
            "terminal_id": known.terminal.id,
            "seq": seq,
            "ts": _ts(at, i["ts_style"]),
            "kind": kind,
            **_values(kind, i),
        }
        if i["interval"] is not None:
            body["interval_s"] = i["interval"]
        oor_field = None
        if "out_of_range" in defects:
            oor_field, body[oor_field] = _out_of_range(kind, i)

        key = known.terminal.key
        if "retired_terminal" in defects:
            body["terminal_id"], key = fleet.retired.id, fleet.retired.key
        if "unknown_terminal" in defects:
            body["terminal_id"] = f"trm_{RUN}_{i['pick']}"
            key = i["key"]
        if "wrong_key" in defects:
            key = i["key"]
        if "stale_key" in defects:
            key = known.stale_key
        if "impostor" in defects:  # another terminal's key
            others = [k for k in self.everyone if k is not known]
            key = others[i["pick"] % len(others)].terminal.key
        body["sig"] = sign(body, key)
        if "tampered" in defects:  # changed after signing
            name = next(iter(PHYSICAL_RANGES[kind]))
            body[name] = body[name] + 1

        self._break_model(body, defects, i)
        payload = orjson.dumps(body)
        tid = body.get("terminal_id")
        key_bytes = tid.encode() if isinstance(tid, str) else b"garbage"
        return self._sent(channel, payload, key_bytes, defects, oor_field, known, seq)

    def _break_model(self, body: dict[str, Any], defects: set[str], i: dict[str, Any]) -> None:
        pick = i["pick"]
        if "missing_field" in defects:
            names = [n for n in body if n not in ("interval_s", "sig")]
            del body[names[pick % len(names)]]
        if "extra_field" in defects:
            name = i["text"] or "note"
            body[name if name not in ALLOWED else f"{name}_x"] = i["u"]
        if "wrong_type" in defects:
            names = [n for n in body if n != "interval_s"]
            name = names[pick % len(names)]
            body[name] = _wrong_value(name, i)
        if "bad_sig_hex" in defects and isinstance(body.get("sig"), str):
            sig = body["sig"]
            body["sig"] = [sig.upper(), sig[:-1], sig[:-1] + "g", sig + "0"][pick % 4]
        if "missing_sig" in defects:
            body.pop("sig", None)
        if "bad_ts" in defects:
            body["ts"] = i["bad_ts"]
        if "bad_kind" in defects:
            body["kind"] = ["thermometer", "COLD_CHAIN", "", "cold-chain"][pick % 4]
        if "negative_seq" in defects:
            body["seq"] = -i["step"]
        if "bad_interval" in defects:
            body["interval_s"] = [0, -i["step"], "60", 60.5, True][pick % 5]

    def _sent(
        self,
        channel: str,
        payload: bytes,
        key: bytes,
        defects: set[str],
        oor_field: str | None,
        known: Known | None,
        seq: int | None,
    ) -> Sent:
        reason = min((RANK[d] for d in defects), default=(99, None))[1]
        field_ = oor_field if reason == "out_of_range" else FIELD_OF_REASON.get(reason or "")
        if known is None:
            return Sent(channel, payload, key, reason, field_, None, None)
        if reason is None:
            assert seq is not None
            known.last_seq = seq
            known.accepted.append(payload)
        return Sent(channel, payload, key, reason, field_, known.terminal.id, known.last_seq)


def chunks(items: list[Sent], size: int) -> Iterator[list[Sent]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the test ------------------------------------------------------------------------------------
async def _fleet(run: InProcess) -> Fleet:
    """Terminals of every kind in one market (each with its key rotated once), and a retired one."""
    place = await provision(run.registry, stall_no=f"R-{uuid.uuid4().hex[:4]}")
    directory = run.app.state.telemetry.directory
    known: list[Known] = []
    for kind in KINDS:
        for n in range(KNOWN_PER_KIND):
            body: dict[str, Any] = {"kind": kind, "market_id": place.market_id, "interval_s": 60}
            if kind == "cold_chain":
                profile = ("chilled", "frozen")[n % 2]
                body |= {"merchant_id": place.merchant_id, "profile": profile}
            r = await run.registry.post("/terminals", json=body)
            assert r.status_code == 201, r.text
            first = r.json()
            r = await run.registry.post(f"/terminals/{first['id']}/rotate-key")
            assert r.status_code == 200, r.text
            rotated = r.json()
            terminal = Terminal(rotated["id"], rotated["key"], kind)
            known.append(Known(terminal, bytes.fromhex(first["key"])))
    r = await run.registry.post(
        "/terminals", json={"kind": "footfall", "market_id": place.market_id}
    )
    assert r.status_code == 201, r.text
    retired = Terminal(r.json()["id"], r.json()["key"], "footfall")
    r = await run.registry.post(f"/terminals/{retired.id}/retire")
    assert r.status_code == 200, r.text
    versions = {k.terminal.id: 2 for k in known}

    def projected() -> bool:
        t = directory.terminals
        gone = t.get(retired.id)
        return bool(gone and gone.status != "active") and all(
            tid in t and t[tid].key_version >= v for tid, v in versions.items()
        )

    await until(projected, what="telemetry's projection has the fleet, rotated and retired")
    return Fleet(known, retired)


async def test_ten_thousand_readings_each_accepted_or_rejected_for_its_reason(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> None:
    group = f"rob-{uuid.uuid4().hex[:8]}"
    schema = f"telemetry_{uuid.uuid4().hex[:6]}"
    await start_group_at_end(kafka, group, READINGS)

    def build(common: dict[str, Any]) -> Any:
        return build_telemetry(
            TelemetrySettings(
                **common,
                consumer_group=group,
                db_schema=schema,
                terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
                # /ingest is rate limited per client: this test is one client sending fast.
                public_rate_per_s=10_000,
                public_burst=10_000,
            )
        )

    async with in_process(kafka, database_url, secrets_env, build) as run:
        tel = run.app.state.telemetry
        await until(tel.projections_ready.is_set, what="telemetry's projections caught up")
        fleets = {"kafka": await _fleet(run), "ingest": await _fleet(run)}
        # Drawn by hypothesis in a process of its own meanwhile (tests/support/scale_intents.py).
        intents = await drawn_intents()
        assert len(intents) == EXAMPLES * PER_EXAMPLE
        builder = Builder(fleets, datetime.now(UTC))
        sent = [builder.build(i) for i in intents]
        by_channel = {c: [s for s in sent if s.channel == c] for c in fleets}
        mine = fleets["kafka"].ids() | fleets["ingest"].ids()

        async with (
            TopicWatcher(kafka, REJECTED) as rejected_topic,
            TopicWatcher(kafka, DLQ) as dlq,
        ):
            # The topic: everything at once, each terminal's readings in order on its partition.
            futures = [
                await run.producer.send(READINGS, s.payload, key=s.key) for s in by_channel["kafka"]
            ]
            ends: dict[int, int] = {}
            for future in futures:
                meta = await future
                ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)

            # The endpoint, meanwhile: full requests, each once the one before was processed.
            answers: list[tuple[Sent, dict[str, Any]]] = []
            for part in chunks(by_channel["ingest"], MAX_INGEST):
                body = b"[" + b",".join(s.payload for s in part) + b"]"
                r = await run.client.post(
                    "/ingest", content=body, headers={"content-type": "application/json"}
                )
                assert r.status_code == 200, r.text[:2000]
                answers.extend(zip(part, r.json()["results"], strict=True))
                expected = {s.terminal: s.seq_after for s in part if s.terminal}
                await until(
                    _states(run, expected),
                    within=60,
                    what="readings accepted by /ingest processed from the topic",
                )

            # Request-level bad input changes nothing: not JSON, not an array, too many.
            for bad in (b"[{", b'{"readings": []}', orjson.dumps([{}] * (MAX_INGEST + 1))):
                r = await run.client.post(
                    "/ingest", content=bad, headers={"content-type": "application/json"}
                )
                assert 400 <= r.status_code < 500, (bad[:40], r.status_code, r.text[:300])

            # The topic's readings: handled past the last one sent, on every partition.
            async def offsets_passed() -> bool:
                async with run.app.state.service.pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT partition, next_offset FROM consumer_offsets"
                        " WHERE consumer = $1 AND topic = $2",
                        CONSUMER,
                        READINGS,
                    )
                stored = {r["partition"]: r["next_offset"] for r in rows}
                return all(stored.get(p, 0) >= end for p, end in ends.items())

            passed: Callable[[], Any] = offsets_passed
            await until(passed, within=120, every=0.2, what="the consumer passed the end")
            await run.app.state.service.drain_outbox(timeout_s=60)

            # 1. Per reading, in /ingest's answers.
            wrong = [
                (s.reason, s.field, a, s.payload[:200])
                for s, a in answers
                if (a["status"], a.get("reason"))
                != ("accepted" if s.reason is None else "rejected", s.reason)
                or (s.field is not None and a.get("field") != s.field)
            ]
            assert not wrong, f"{len(wrong)} /ingest verdicts differ, e.g. {wrong[:5]}"

            # 2. On telemetry.rejected.v1, through the service's outbox: this instance's events.
            expected_raws = {s.raw() for s in sent if s.reason is not None}

            def ours(data: dict[str, Any]) -> bool:
                return data.get("terminal_id") in mine or data.get("raw") in expected_raws

            async with run.app.state.service.pool.acquire() as conn:
                rows = await conn.fetch(
                    "SELECT event_id, value FROM outbox WHERE topic = $1", REJECTED
                )
            events = {r["event_id"]: orjson.loads(r["value"])["data"] for r in rows}
            from_kafka = {eid: d for eid, d in events.items() if ours(d)}
            expected_kafka = Counter(_identity(s) for s in by_channel["kafka"] if s.reason)
            found_kafka = Counter(_found(d) for d in from_kafka.values())
            assert {d["channel"] for d in from_kafka.values()} <= {"kafka"}
            _same(expected_kafka, found_kafka, "topic")

            expected_ingest = Counter(s.reason for s in by_channel["ingest"] if s.reason)
            on_topic = await rejected_topic.wait_for(
                lambda r: (
                    r.json()["id"] in from_kafka
                    or (r.json()["data"]["channel"] == "ingest" and ours(r.json()["data"]))
                ),
                count=len(from_kafka) + expected_ingest.total(),
                timeout=60,
            )
            ingest_on_topic = Counter(
                r.json()["data"]["reason"]
                for r in on_topic
                if r.json()["data"]["channel"] == "ingest"
            )
            assert ingest_on_topic == expected_ingest
            assert {r.json()["id"] for r in on_topic} >= set(from_kafka)

            # 3. Valid readings: every terminal's state is at its last valid seq; all counted.
            final = {
                k.terminal.id: k.last_seq for f in fleets.values() for k in f.known if k.accepted
            }
            assert await _states_are(run, final), "a terminal's last seq is not its last valid"
            accepted = int(
                sum(
                    run.app.state.service.metrics.registry.get_sample_value(
                        "sentinel_telemetry_readings_total", {"kind": kind, "outcome": "accepted"}
                    )
                    or 0
                    for kind in KINDS
                )
            )
            valid = sum(s.reason is None for s in sent)
            assert accepted == valid, (accepted, valid)

            # 4. Nothing parked, and the service is still well.
            parked = [r for r in await dlq.drain(settle_s=0.5) if _parked_by(r, group)]
            assert not parked, [r.headers.get("dlq.error") for r in parked[:5]]
            assert (await run.client.get("/readyz")).status_code == 200

        reasons = Counter(s.reason or "accepted" for s in sent)
        print(
            f"\nreadings at scale: sent {len(sent)} (topic {len(by_channel['kafka'])}, "
            f"/ingest {len(by_channel['ingest'])} in "
            f"{len(list(chunks(by_channel['ingest'], MAX_INGEST)))} requests); "
            f"accepted {accepted}; rejected {reasons.total() - reasons['accepted']}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()) if k != "accepted")
        )


def _identity(s: Sent) -> tuple[str, str | None, str | None]:
    return (s.raw(), s.reason, s.field)


def _found(data: dict[str, Any]) -> tuple[str, str | None, str | None]:
    reason = data["reason"]
    checked = reason != "malformed"
    return (data["raw"], reason, data.get("field") if checked else None)


def _same(expected: Counter[Any], found: Counter[Any], where: str) -> None:
    missing, unexpected = expected - found, found - expected
    assert not missing and not unexpected, (
        f"{where}: {missing.total()} expected rejections missing, e.g. {list(missing)[:3]}; "
        f"{unexpected.total()} unexpected, e.g. {list(unexpected)[:3]}"
    )


def _parked_by(record: Record, group: str) -> bool:
    return record.headers.get("dlq.consumer_group") == group.encode()


def _states(run: InProcess, expected: Mapping[str, int | None]) -> Callable[[], Any]:
    return lambda: _states_are(run, expected)


async def _states_are(run: InProcess, expected: Mapping[str, int | None]) -> bool:
    ids = list(expected)
    async with run.app.state.service.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT terminal_id, last_seq FROM terminal_state WHERE terminal_id = ANY($1::text[])",
            ids,
        )
    found = {r["terminal_id"]: r["last_seq"] for r in rows}
    return all(found.get(tid, -1) == expected[tid] for tid in ids)
