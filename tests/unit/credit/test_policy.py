"""The credit policy: the shipped file holds docs/rules.md, versions by date, bad files refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.credit.domain import (
    FACT_KINDS,
    Policy,
    PolicyBook,
    UnknownPolicyVersion,
    format_duration,
    grade,
    parse_duration,
)
from services.credit.policy_files import POLICY_DIR, default_book, read_book
from tests.unit.credit.policy_data import edited

SHIPPED = POLICY_DIR / "2026-01.yaml"


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    return data


def test_the_shipped_policy_is_the_designs() -> None:
    policy = default_book().in_force(datetime(2026, 6, 1, tzinfo=UTC))
    assert policy.version == "2026-01"
    assert policy.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert dict(policy.adjustments) == {
        "merchant.registered": 0,
        "inspection.pass": 2,
        "inspection.finding.minor": -5,
        "inspection.finding.major": -15,
        "inspection.finding.critical": -30,
        "rectification.on_time": 3,
        "rectification.overdue": -10,
        "complaint.substantiated": -5,
        "food_safety_risk.confirmed": -10,
        "licence.expired": -20,
        "merchant.suspended": -10,
    }
    # It scores every kind but the joint enforcement decisions, which came with 2026-12, and
    # a correction, a repair or what followed from a finding found wrong, whose worth is the
    # entry's it reverses, not a policy's; nor a corrected credit code, which is worth nothing.
    assert set(FACT_KINDS) - set(policy.adjustments) == {
        "enforcement.warning",
        "enforcement.fine",
        "enforcement.suspension",
        "objection.corrected",
        "objection.repaired",
        "objection.follow_on",
        "merchant.credit_code",
    }
    assert policy.honours is None  # and draws no honour and warning list
    assert (policy.start, policy.lower, policy.upper) == (100, 0, 100)
    assert policy.fade_after == timedelta(days=365)
    assert dict(policy.bands) == {"A": 90, "B": 75, "C": 60}
    assert sum(policy.assessment.weights.values()) == pytest.approx(1.0)
    assert policy.assessment.open_risks_zero_at == 0.1


def test_code_defaults_match_the_shipped_file() -> None:
    policy = default_book().get("2026-01")
    assert Policy("2026-01", policy.effective_from) == policy


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, "A"), (90, "A"), (89, "B"), (75, "B"), (74, "C"), (60, "C"), (59, "D"), (0, "D")],
)
def test_grade_band_edges(value: int, expected: str) -> None:
    assert grade(value, default_book().latest) == expected


@pytest.mark.parametrize("version", ["2026-01", "2026-12"])
def test_to_dict_is_json_and_reads_back(version: str) -> None:
    policy = default_book().get(version)
    text = json.dumps(policy.to_dict())
    assert Policy.from_dict(json.loads(text)) == policy
    assert policy.to_dict()["fade_after"] == "365d"


def test_durations() -> None:
    assert parse_duration("365d") == timedelta(days=365)
    assert parse_duration("36h") == timedelta(hours=36)
    assert [format_duration(timedelta(seconds=s)) for s in (86_400, 7200, 120, 90.5)] == [
        "1d",
        "2h",
        "2m",
        "90.5s",
    ]
    with pytest.raises(ValueError, match="with a unit"):
        parse_duration(365)


# -- bad files -----------------------------------------------------------------------------------


def _write(tmp_path: Path, data: Any, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _without(key: str) -> dict[str, Any]:
    data = shipped()
    data.pop(key)
    return data


def _with(path: str, value: Any) -> dict[str, Any]:
    return edited(shipped(), path, value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["not", "a", "mapping"], "must be a mapping of policy keys"),
        (_without("bands"), "missing keys bands"),
        ({**shipped(), "colour": "red"}, "unknown keys colour"),
        (_with("version", 202601), "version: must be a non-empty string"),
        (_with("effective_from", "soon"), "effective_from: not a date"),
        (_with("effective_from", datetime(2026, 1, 1)), "effective_from: a date-time needs"),
        (_with("start", "100"), "start: must be an integer"),
        (_with("start", 120), "start 120 is outside bounds"),
        (_with("bounds", {"min": 0}), "bounds: missing max"),
        (_with("bounds", {"min": -10, "max": 100}), "bounds must satisfy"),
        (_with("fade_after", 365), "fade_after: 365 is not a duration"),
        (_with("fade_after", "0d"), "fade_after must be positive"),
        (_with("bands/B", 95), "bands must fall strictly"),
        (_with("bands/B", 75.5), "bands.B: must be an integer"),
        (_with("bands", {"A": 90, "B": 75}), "bands: missing C"),
        (_with("adjustments/inspection.excellent", 5), "adjustments.inspection.excellent: not a"),
        (_with("adjustments/inspection.pass", "+2"), "adjustments.inspection.pass: must be an"),
        (_with("adjustments/inspection.pass", True), "adjustments.inspection.pass: must be an"),
        (_with("adjustments", [1, 2]), "adjustments: must be a mapping"),
        (_with("assessment/weights/share_ab", -1), "weights.share_ab must not be negative"),
        (_with("assessment/weights/luck", 0.1), "assessment.weights.luck: unknown component"),
        (_with("assessment/open_risks_zero_at", 0), "open_risks_zero_at must be positive"),
        (_with("assessment/mood", 1), "assessment.mood: unknown key"),
    ],
)
def test_a_bad_file_names_itself_and_the_key(tmp_path: Path, data: Any, message: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=r"bad\.yaml") as raised:
        read_book(path)
    assert message in str(raised.value)


def test_broken_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.yaml: not valid YAML"):
        read_book(path)


def test_nothing_to_load(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no policy files"):
        read_book(tmp_path)
    with pytest.raises(ValueError, match="no such policy file"):
        read_book(tmp_path / "missing.yaml")


def test_a_version_twice_names_both_files(tmp_path: Path) -> None:
    _write(tmp_path, shipped(), "a.yaml")
    _write(tmp_path, _with("effective_from", "2027-01-01"), "b.yaml")
    with pytest.raises(ValueError, match=r"b\.yaml: version '2026-01' is already in .*a\.yaml"):
        read_book(tmp_path)


def test_two_versions_in_force_at_one_moment_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, shipped(), "a.yaml")
    _write(tmp_path, _with("version", "2026-02"), "b.yaml")
    with pytest.raises(ValueError, match="take effect at the same moment"):
        read_book(tmp_path)


# -- versions by effective date ------------------------------------------------------------------

JULY = datetime(2026, 7, 1, tzinfo=UTC)


def two_versions(tmp_path: Path) -> PolicyBook:
    _write(tmp_path, shipped(), "2026-01.yaml")
    later = _with("version", "2026-07")
    later["effective_from"] = (
        "2026-07-01T00:00:00+08:00"  # local midnight, 16:00 UTC the day before
    )
    later["adjustments"]["inspection.finding.major"] = -20
    _write(tmp_path, later, "2026-07.yaml")
    return read_book(tmp_path)


def test_the_version_in_force_is_the_last_effective(tmp_path: Path) -> None:
    book = two_versions(tmp_path)
    switch = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert [p.version for p in book] == ["2026-01", "2026-07"]
    assert book.in_force(switch - timedelta(microseconds=1)).version == "2026-01"
    assert book.in_force(switch).version == "2026-07"  # effective from that very moment
    assert book.in_force(JULY + timedelta(days=400)).version == "2026-07"
    # Before the first version there is no older rule: the first applies.
    assert book.in_force(datetime(2020, 1, 1, tzinfo=UTC)).version == "2026-01"
    assert book.get("2026-01").delta("inspection.finding.major") == -15
    assert book.latest.delta("inspection.finding.major") == -20
    with pytest.raises(UnknownPolicyVersion):
        book.get("1999-01")
    with pytest.raises(ValueError, match="timezone"):
        book.in_force(datetime(2026, 7, 1))


def test_a_single_file_or_the_packaged_directory() -> None:
    assert [p.version for p in read_book(SHIPPED)] == ["2026-01"]
    assert len(read_book()) >= 1
    with pytest.raises(ValueError, match="at least one"):
        PolicyBook.of()


def test_a_kind_left_out_is_not_scored() -> None:
    policy = Policy(
        "lean",
        datetime(2026, 1, 1, tzinfo=UTC),
        adjustments={"inspection.finding.critical": -40},
    )
    assert policy.delta("inspection.finding.critical") == -40
    assert policy.delta("inspection.pass") is None
