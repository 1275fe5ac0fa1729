"""The pure part of `sentinel dlq` (sentinel_cli/dead_letters.py): which records are unresolved,
copies of one source record listed and resolved once, resolution in offset order, the headers
sent back, and corrections read from a file and checked against their contract."""

from __future__ import annotations

import orjson
import pytest

from sentinel_cli.dead_letters import (
    Correction,
    CorrectionError,
    Parked,
    SelectionError,
    check_correction,
    entries,
    outgoing,
    plan,
    read_corrections,
    republished_headers,
    still_open,
)
from tests.support.cli_records import broken_risk_event, risk_event

DLQ = "telemetry.risks.v1.dlq"
SOURCE = "telemetry.risks.v1"


def parked(
    offset: int, source_offset: int | None, value: bytes = b"x", key: bytes = b"k"
) -> Parked:
    headers: list[tuple[str, bytes]] = [("content-type", b"application/cloudevents+json")]
    if source_offset is not None:
        headers += [
            ("dlq.error", b"boom"),
            ("dlq.error_type", b"PoisonMessage"),
            ("dlq.source_topic", SOURCE.encode()),
            ("dlq.source_partition", b"2"),
            ("dlq.source_offset", str(source_offset).encode()),
            ("dlq.consumer_group", b"sentinel-inspection"),
            ("dlq.failed_at", b"2026-05-01T08:00:00+00:00"),
        ]
    return Parked(DLQ, 0, offset, 1_000, key, value, tuple(headers))


# --- listing ----------------------------------------------------------------------------------
def test_a_record_parked_twice_is_listed_once_with_both_offsets() -> None:
    records = [parked(0, 10), parked(1, 11), parked(2, 10)]
    listed = entries(records, mark=0)
    assert [(e.record.offset, e.copies) for e in listed] == [(0, (0, 2)), (1, (1,))]


def test_every_group_that_parked_a_source_record_is_named_on_its_one_line() -> None:
    first = parked(0, 10)
    by_credit = Parked(
        DLQ,
        0,
        1,
        1_000,
        b"k",
        b"x",
        tuple(
            (k, b"sentinel-credit" if k == "dlq.consumer_group" else v) for k, v in first.headers
        ),
    )
    [entry] = entries([first, by_credit, parked(2, 10)], mark=0)
    assert entry.copies == (0, 1, 2)
    assert entry.to_json()["consumer_groups"] == ["sentinel-inspection", "sentinel-credit"]


def test_only_records_from_the_watermark_on_are_listed() -> None:
    records = [parked(0, 10), parked(1, 11), parked(2, 12)]
    assert [e.record.offset for e in entries(records, mark=2)] == [2]
    assert entries(records, mark=3) == []


def test_a_copy_parked_after_its_source_was_resolved_says_so() -> None:
    records = [parked(0, 10), parked(1, 11), parked(2, 10)]
    [copy, other] = sorted(entries(records, mark=1), key=lambda e: e.record.offset)
    assert (copy.record.offset, copy.resolved_as) == (1, None)
    assert (other.record.offset, other.resolved_as) == (2, 0)


def test_records_without_source_headers_are_never_taken_for_copies() -> None:
    records = [parked(0, None), parked(1, None)]
    assert [e.copies for e in entries(records, mark=0)] == [(0,), (1,)]


def test_an_entry_shows_the_source_the_error_and_the_event() -> None:
    value = risk_event("trm_9", "risk_9")
    [entry] = entries([parked(0, 10, value, b"trm_9")], mark=0)
    shown = entry.to_json()
    assert shown["source_topic"] == SOURCE
    assert (shown["source_partition"], shown["source_offset"]) == (2, 10)
    assert (shown["error_type"], shown["error"]) == ("PoisonMessage", "boom")
    assert shown["consumer_group"] == "sentinel-inspection"
    assert shown["failed_at"] == "2026-05-01T08:00:00+00:00"
    assert (shown["key"], shown["type"]) == ("trm_9", "telemetry.risk.raised")
    assert shown["id"] == orjson.loads(value)["id"]
    unreadable = entries([parked(0, 10, b"\xff not json")], mark=0)[0].to_json()
    assert (unreadable["type"], unreadable["id"], unreadable["valid"]) == (None, None, False)


# --- resolving in offset order ----------------------------------------------------------------
def test_resolving_the_first_record_moves_the_watermark_past_it() -> None:
    records = [parked(0, 10), parked(1, 11)]
    done = plan(records, 0, [0], sending=True)
    assert ([r.offset for r in done.send], done.watermark, done.resolved) == ([0], 1, (0,))


def test_an_unresolved_earlier_record_is_never_skipped() -> None:
    records = [parked(0, 10), parked(1, 11), parked(2, 12)]
    with pytest.raises(SelectionError, match="offset 0 before it is unresolved"):
        plan(records, 0, [2], sending=True)
    done = plan(records, 0, [0, 1, 2], sending=True)
    assert (done.watermark, len(done.send)) == (3, 3)
    assert plan(records, 0, "all", sending=False).watermark == 3


def test_copies_are_sent_once_and_resolved_together() -> None:
    records = [parked(0, 10), parked(1, 10), parked(2, 11)]
    done = plan(records, 0, [0], sending=True)
    assert [r.offset for r in done.send] == [0]
    assert (done.watermark, done.copies) == (2, (1,))
    everything = plan(records, 0, "all", sending=True)
    assert [r.offset for r in everything.send] == [0, 2]
    assert everything.watermark == 3


def test_a_copy_of_a_resolved_record_is_passed_by_the_next_resolution() -> None:
    records = [parked(0, 10), parked(1, 11), parked(2, 10)]
    done = plan(records, 1, [1], sending=True)
    assert [r.offset for r in done.send] == [1]
    assert (done.watermark, done.copies) == (3, (2,))


def test_a_copy_not_adjacent_to_its_original_waits_for_what_lies_between() -> None:
    records = [parked(0, 10), parked(1, 11), parked(2, 10)]
    done = plan(records, 0, [0], sending=True)
    assert done.watermark == 1  # @1 is unresolved; @2, the copy, is listed as one (above)


def test_a_discard_sends_nothing() -> None:
    records = [parked(0, 10), parked(1, 11)]
    done = plan(records, 0, [0, 1], sending=False)
    assert (done.send, done.watermark, done.resolved) == ((), 2, (0, 1))


@pytest.mark.parametrize(
    ("mark", "chosen", "reason"),
    [
        (1, [0], "already resolved"),
        (0, [5], "no parked record there"),
        (0, [], "at least one offset"),
        (2, "all", "nothing to resolve"),
    ],
)
def test_a_selection_that_cannot_be_resolved_is_refused(
    mark: int, chosen: list[int] | str, reason: str
) -> None:
    records = [parked(0, 10), parked(1, 11)]
    with pytest.raises(SelectionError, match=reason):
        plan(records, mark, chosen, sending=True)  # type: ignore[arg-type]


# --- what goes back ---------------------------------------------------------------------------
def test_the_original_headers_go_back_without_the_dead_letter_ones() -> None:
    record = parked(0, 10, b"v")
    assert republished_headers(record.headers) == [
        ("content-type", b"application/cloudevents+json")
    ]
    assert republished_headers([("dlq.x", b"1"), ("traceparent", b"t"), ("dlqueue", b"q")]) == [
        ("traceparent", b"t"),
        ("dlqueue", b"q"),
    ]
    value, headers = outgoing(record, None)
    assert value == b"v" and all(not k.startswith("dlq.") for k, _ in headers)
    corrected, _ = outgoing(record, Correction(0, b"fixed", "k"))
    assert corrected == b"fixed"


def test_a_record_parked_without_a_source_topic_goes_back_where_its_name_says() -> None:
    assert parked(0, None).source_topic == SOURCE
    assert parked(0, None).source is None


# --- corrections ------------------------------------------------------------------------------
def line(**fields: object) -> str:
    return orjson.dumps({"topic": DLQ, "offset": 0, "key": "k", **fields}).decode()


def test_corrections_are_read_as_tail_json_writes_them() -> None:
    event = orjson.loads(risk_event())
    found = read_corrections([line(value=event), "", line(offset=3, value="raw text")], DLQ)
    assert found[0].value == orjson.dumps(event) and found[0].key == "k"
    assert found[3].value == b"raw text"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "line 1: <line>: not JSON"),
        ("[1]", "line 1: <line>: not a JSON object"),
        (line(topic="other.dlq", value={}), "line 1: topic: 'other.dlq' is not"),
        (line(offset=-1, value={}), "line 1: offset: -1 is not an offset"),
        (line(offset="3", value={}), "line 1: offset: '3' is not an offset"),
        (line(value=None), "line 1: value: missing"),
        (line(key=3, value={}), "line 1: key: 3 is not a string"),
    ],
)
def test_an_unreadable_correction_names_its_line_and_field(text: str, reason: str) -> None:
    with pytest.raises(CorrectionError, match=reason):
        read_corrections([text], DLQ)


def test_an_offset_corrected_twice_is_refused() -> None:
    with pytest.raises(CorrectionError, match="line 2: offset: offset 0 is corrected twice"):
        read_corrections([line(value={}), line(value={})], DLQ)


def test_a_correction_must_meet_its_contract() -> None:
    record = parked(0, 10, broken_risk_event(), b"k")
    check_correction(record, Correction(0, risk_event(), "k"))
    with pytest.raises(CorrectionError, match=r"contract of telemetry\.risks\.v1: .*severity"):
        check_correction(record, Correction(0, broken_risk_event(), "k"))
    with pytest.raises(CorrectionError, match="not JSON"):
        check_correction(record, Correction(0, b"{", "k"))


def test_a_correction_keeps_the_parked_key() -> None:
    record = parked(0, 10, broken_risk_event(), b"k")
    with pytest.raises(CorrectionError, match="key: 'other' is not the parked record's 'k'"):
        check_correction(record, Correction(0, risk_event(), "other"))


def test_corrections_of_records_already_resolved_are_left_out() -> None:
    found = {o: Correction(o, b"{}", "k") for o in (0, 3, 5)}
    kept, skipped = still_open(found, mark=4)
    assert (sorted(kept), skipped) == ([5], (0, 3))
