"""The policy: the defaults of docs/rules.md, overrides from configuration, refusal of nonsense."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.inspection.domain import DEFAULT_POLICY, Policy, parse_duration
from tests.support.inspection_builders import D, H


def test_defaults_are_the_designs() -> None:
    p = DEFAULT_POLICY
    assert [p.risk_sla(s) for s in ("warning", "minor", "major", "critical")] == [
        None,
        None,
        4 * H,
        2 * H,
    ]
    assert p.complaint_sla("food_safety") == 24 * H
    assert p.complaint_sla("short_weight") == p.complaint_sla("other") == 72 * H
    assert {g: p.patrol_every(g) for g in "ABCD"} == {
        "A": 365 * D,
        "B": 180 * D,
        "C": 120 * D,
        "D": 90 * D,
    }
    assert p.patrol_every(None) == 180 * D
    assert (p.deadline_after("minor"), p.deadline_after("major")) == (7 * D, 3 * D)
    assert p.deadline_after("critical") is None
    assert p.suspends("critical") and not p.suspends("major") and not p.suspends("pass")


def test_overrides_merge_over_the_defaults() -> None:
    policy = Policy.from_dict(
        {
            "risk_due": {"critical": "90m"},
            "complaint_due_default": "48h",
            "patrol_task_within": 3 * 86_400,
            "default_departments": ["market_regulation", "health"],
            "attach_below_threshold": False,
        }
    )
    assert policy.risk_sla("critical") == timedelta(minutes=90)
    assert policy.risk_sla("major") == 4 * H  # untouched entries keep their default
    assert policy.complaint_sla("price") == 48 * H
    assert policy.patrol_task_within == 3 * D
    assert policy.default_departments == ("market_regulation", "health")
    assert policy.attach_below_threshold is False


def test_to_dict_is_json_and_reads_back() -> None:
    text = json.dumps(DEFAULT_POLICY.to_dict())
    assert Policy.from_dict(json.loads(text)) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"risk_deu": {}}, "unknown policy settings: risk_deu"),
        ({"risk_due": {"grave": "1h"}}, "unknown severities grave"),
        ({"risk_due": {"major": 0}}, "risk_due.major must be positive"),
        ({"complaint_due_default": "-1h"}, "not a duration"),
        ({"patrol_interval": {"E": "30d"}}, "exactly the grades A, B, C, D"),
        ({"patrol_default_grade": "E"}, "patrol_default_grade"),
        ({"suspend_from": "pass"}, "suspend_from"),
        ({"suspend_from": "major"}, "rectification_deadline needs exactly minor"),
        ({"rectification_deadline": {"critical": "1d"}}, "needs exactly major, minor"),
        ({"default_departments": ["police"]}, "default_departments"),
        ({"default_departments": []}, "default_departments"),
        ({"default_departments": "health"}, "default_departments must be a list"),
        ({"risk_due": "4h"}, "risk_due must be a mapping"),
        ({"attach_below_threshold": "yes"}, "attach_below_threshold must be a bool"),
        ({"max_triggers_per_task": 1}, "max_triggers_per_task must be a whole number"),
        ({"max_event_ids_per_trigger": "8"}, "max_event_ids_per_trigger must be a whole number"),
        ({"max_event_ids_per_trigger": True}, "max_event_ids_per_trigger"),
    ],
)
def test_nonsense_fails_at_start_up(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.from_dict(overrides)


def test_policy_values_are_immutable() -> None:
    with pytest.raises(TypeError):
        DEFAULT_POLICY.risk_due["minor"] = H  # type: ignore[index]
    mine = {"major": 4 * H}
    policy = Policy(risk_due=mine)
    mine["minor"] = H
    assert policy.risk_sla("minor") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4h", 4 * H),
        ("7d", 7 * D),
        ("90m", timedelta(minutes=90)),
        ("30s", timedelta(seconds=30)),
        (" 1.5h ", timedelta(minutes=90)),
        (3600, H),
        (0.5, timedelta(milliseconds=500)),
        (H, H),
    ],
)
def test_durations(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["4", "4w", "h", "", True, None, [1]])
def test_what_is_not_a_duration(value: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)


def test_a_policy_is_a_mapping() -> None:
    with pytest.raises(ValueError, match="a policy is a mapping"):
        Policy.from_dict(["risk_due"])  # type: ignore[arg-type]


def test_the_evidence_bounds_are_configurable() -> None:
    policy = Policy.from_dict({"max_triggers_per_task": 5, "max_event_ids_per_trigger": 3})
    assert (policy.max_triggers_per_task, policy.max_event_ids_per_trigger) == (5, 3)
    assert (DEFAULT_POLICY.max_triggers_per_task, DEFAULT_POLICY.max_event_ids_per_trigger) == (
        20,
        8,
    )
