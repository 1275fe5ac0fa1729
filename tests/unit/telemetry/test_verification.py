"""The order and reasons of reading verification, without a broker: each failure names itself."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from contracts.telemetry import sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.projections import Directory, TerminalInfo
from services.telemetry.verification import Accepted, Rejected, TerminalsAndClock, check

MASTER = b"m" * 32
NOW = time.time()


def _directory() -> Directory:
    d = Directory(MASTER)
    for tid, status in (("trm_ok", "active"), ("trm_old", "retired")):
        d.terminals[tid] = TerminalInfo(
            tid, "cold_chain", "mkt", "zhifu", None, None, "chilled", 60, 1, status, 1
        )
    return d


def _reading(tid: str = "trm_ok", seq: int = 5, minutes: float = -1, **values: object) -> dict:  # type: ignore[type-arg]
    ts = datetime.fromtimestamp(NOW, UTC) + timedelta(minutes=minutes)
    body = {
        "terminal_id": tid,
        "seq": seq,
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "kind": "cold_chain",
        "temp_c": 4.0,
    } | values
    body["sig"] = sign(body, derive_key(MASTER, tid, 1))
    return body


def _check(raw: bytes | dict, last: int = 2) -> Accepted | Rejected:  # type: ignore[type-arg]
    return check(raw, TerminalsAndClock(_directory(), lambda _: last, NOW, 300))


def test_a_genuine_reading_is_accepted_with_its_event_time() -> None:
    verdict = _check(_reading())
    assert isinstance(verdict, Accepted) and verdict.terminal.id == "trm_ok"
    assert verdict.ts == pytest.approx(NOW - 60, abs=1)
    assert isinstance(_check(orjson.dumps(_reading())), Accepted)  # bytes as from Kafka


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (b"{not json", "malformed", None),
        (b"[1, 2]", "malformed", None),
        ({"terminal_id": "trm_ok", "seq": 1}, "malformed", "kind"),
        (
            {
                "terminal_id": "trm_ok",
                "seq": 1,
                "kind": "cold_chain",
                "temp_c": 1.0,
                "sig": "0" * 64,
            },
            "malformed",
            "ts",
        ),
        (_reading("trm_ghost"), "unknown_terminal", "terminal_id"),
        (_reading("trm_old"), "unknown_terminal", "terminal_id"),
        (_reading() | {"temp_c": 5.0}, "signature", "sig"),  # changed after signing
        (_reading(seq=2), "replay", "seq"),
        (_reading(minutes=10), "future_ts", "ts"),
        (_reading(temp_c=150.0), "out_of_range", "temp_c"),
    ],
)
def test_each_failure_has_its_reason_and_field(raw: object, reason: str, field: str | None) -> None:
    verdict = _check(raw)  # type: ignore[arg-type]
    assert isinstance(verdict, Rejected)
    assert (verdict.reason, verdict.field) == (reason, field)
    assert verdict.detail


def test_a_forger_learns_nothing_about_state_signature_is_checked_before_replay() -> None:
    forged = _reading(seq=1) | {"sig": "0" * 64}
    verdict = _check(forged, last=10)
    assert isinstance(verdict, Rejected) and verdict.reason == "signature"


def test_a_reading_of_another_kind_than_the_terminal_is_malformed() -> None:
    body = _reading(kind="footfall", entries=1, exits=0, occupancy=3)
    body.pop("temp_c")
    body["sig"] = sign(body, derive_key(MASTER, "trm_ok", 1))
    verdict = _check(body)
    assert isinstance(verdict, Rejected) and (verdict.reason, verdict.field) == (
        "malformed",
        "kind",
    )


def test_rejections_carry_the_kind_when_the_reading_said_one() -> None:
    verdict = _check(_reading(temp_c=150.0))
    assert isinstance(verdict, Rejected) and verdict.kind == "cold_chain"
    assert _check(b"{").kind is None  # type: ignore[union-attr]
