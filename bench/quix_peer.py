"""The peer: the cold-chain excursion rule written with Quix Streams, on the same readings.

Run by `bench.peer` with the interpreter of its own virtualenv (.cache/bench-quix: Quix Streams
pins pydantic < 2.14 and pydantic-settings < 2.16, the services pin 2.14 / 2.16), so it imports
nothing of the project: it repeats here what it needs.

Per reading, as the telemetry service does: decode the JSON, check the shape and kind, verify
the HMAC-SHA256 of the canonical form under the terminal's derived key (pads prepared once per
key, as ours), refuse a replayed seq, then the excursion rule on event time: above the profile's
limit for 15 min, or 6 °C over it at once, raises; severity from degree-minutes (trapezoid) and
peak excess; 1 °C under the limit for 10 min clears. The terminal's state (last seq and time,
last temperature, the excursion window, the open risk) lives in Quix's RocksDB state store with
its changelog topic, keyed by terminal id (the message key); raised and cleared risks go to an
output topic. Prints one JSON line: readings, seconds from the first reading handled to the
last (with the final checkpoint, and without it), CPU seconds of the process to the last
reading (librdkafka's threads included).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime
from typing import Any

import orjson
from quixstreams import Application, State

LIMIT_C = {"chilled": 8.0, "frozen": -15.0}
RAISE_AFTER_S, INSTANT_EXCESS_C = 15 * 60, 6.0
MAJOR_DM, CRITICAL_DM, CRITICAL_EXCESS_C = 60.0, 240.0, 12.0
CLEAR_HYSTERESIS_C, CLEAR_HOLD_S = 1.0, 10 * 60
FIELDS = frozenset(("terminal_id", "seq", "ts", "kind", "sig", "temp_c"))


class Signer:
    def __init__(self, key: bytes) -> None:
        key = key.ljust(64, b"\0")
        self.inner = hashlib.sha256(key.translate(bytes(x ^ 0x36 for x in range(256))))
        self.outer = hashlib.sha256(key.translate(bytes(x ^ 0x5C for x in range(256))))

    def hexdigest(self, message: bytes) -> str:
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--readings", type=int, required=True)
    parser.add_argument("--master-hex", required=True)
    args = parser.parse_args()
    master = bytes.fromhex(args.master_hex)
    signers: dict[str, Signer] = {}
    times: dict[str, float] = {}
    progress = {"n": 0, "first": 0.0, "last": 0.0, "cpu": 0.0, "accepted": 0, "risks": 0}

    def signer(tid: str) -> Signer:
        s = signers.get(tid)
        if s is None:
            key = hmac.new(master, f"sentinel-terminal-key|{tid}|1".encode(), "sha256").digest()
            s = signers[tid] = Signer(key)
        return s

    def event_time(text: str) -> float:
        t = times.get(text)
        if t is None:
            t = times[text] = datetime.fromisoformat(text.upper()).timestamp()
        return t

    def severity(w: dict[str, Any], excess: float) -> str:
        peak = max(excess, w["peak"] - LIMIT_C["chilled"]) if w["peak"] is not None else excess
        if w["dm"] >= CRITICAL_DM or peak >= CRITICAL_EXCESS_C:
            return "critical"
        if w["dm"] >= MAJOR_DM or peak >= INSTANT_EXCESS_C:
            return "major"
        return "minor"

    def excursion(value: bytes, state: State) -> dict[str, Any] | None:
        if progress["n"] == 0:
            progress["first"], progress["cpu"] = time.perf_counter(), time.process_time()
        progress["n"] += 1
        if progress["n"] >= args.readings:
            progress["last"] = time.perf_counter()
            progress["cpu"] = time.process_time() - progress["cpu"]
            app.stop()
        body = orjson.loads(value)
        if not isinstance(body, dict) or body.get("kind") != "cold_chain":
            return None
        if not body.keys() <= FIELDS | {"interval_s"} or not body.keys() >= FIELDS:
            return None
        tid, seq, temp = body["terminal_id"], body["seq"], body["temp_c"]
        canonical = dict(body)
        sig = canonical.pop("sig")
        signed = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
        if not hmac.compare_digest(signer(tid).hexdigest(signed), sig):
            return None
        s = state.get("s") or {"seq": -1, "ts": None, "temp": None, "risk": None, "w": None}
        if seq <= s["seq"]:
            return None
        ts = event_time(body["ts"])
        limit = LIMIT_C["chilled"]
        excess = temp - limit
        w = s["w"] or {"first": None, "run": None, "peak": None, "dm": 0.0, "clear": None}
        out = None
        if s["temp"] is not None and ts > s["ts"]:
            a, b = s["temp"] - limit, excess
            if (a > 0 or b > 0) and w["first"] is not None:
                dt = ts - s["ts"]
                if a >= 0 and b >= 0:
                    area = (a + b) * 0.5 * dt
                elif a > 0:
                    area = a * 0.5 * dt * a / (a - b)
                else:
                    area = b * 0.5 * dt * b / (b - a)
                w["dm"] += area / 60.0
        if excess > 0:
            w["first"] = w["first"] if w["first"] is not None else ts
            w["run"] = w["run"] if w["run"] is not None else ts
            w["peak"] = temp if w["peak"] is None else max(w["peak"], temp)
            w["clear"] = None
            if s["risk"] is None and (excess >= INSTANT_EXCESS_C or ts - w["run"] >= RAISE_AFTER_S):
                s["risk"] = str(uuid.uuid4())
                out = {"event": "raised", "risk_id": s["risk"], "terminal_id": tid}
                out["severity"] = severity(w, excess)
        else:
            w["run"] = None
            if s["risk"] is None:
                w = None
            elif excess <= -CLEAR_HYSTERESIS_C:
                w["clear"] = w["clear"] if w["clear"] is not None else ts
                if ts - w["clear"] >= CLEAR_HOLD_S:
                    out = {"event": "cleared", "risk_id": s["risk"], "terminal_id": tid}
                    s["risk"], w = None, None
        s.update(seq=seq, ts=ts, temp=temp, w=w)
        state.set("s", s)
        progress["accepted"] += 1
        progress["risks"] += out is not None
        return out

    with tempfile.TemporaryDirectory(prefix="bench-quix-") as state_dir:
        app = Application(
            broker_address=args.broker,
            consumer_group=f"bench-quix-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            state_dir=state_dir,
            loglevel="WARNING",
        )
        readings = app.topic(args.topic, key_deserializer="str", value_deserializer="bytes")
        risks = app.topic(f"bench.quix.risks.{uuid.uuid4().hex[:6]}", value_serializer="json")
        sdf = app.dataframe(readings)
        sdf = sdf.apply(excursion, stateful=True).filter(lambda v: v is not None)
        sdf.to_topic(risks)
        app.run()
        # The last checkpoint (state flushed to RocksDB and its changelog, offsets committed)
        # happens as the app stops: counted, as the service's per-batch transaction is.
        progress["stopped"] = time.perf_counter()
    if progress["n"] < args.readings:
        print(json.dumps({"error": f"stopped after {progress['n']} readings"}))
        return 1
    print(
        json.dumps(
            {
                "readings": progress["n"],
                "accepted": progress["accepted"],
                "risks": progress["risks"],
                "seconds": progress["stopped"] - progress["first"],
                "seconds_to_last_reading": progress["last"] - progress["first"],
                "cpu": progress["cpu"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
