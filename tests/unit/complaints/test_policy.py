"""The policy: the defaults of docs/rules.md, overrides from configuration, refusal of nonsense."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from services.complaints.domain import DEFAULT_POLICY, Policy, parse_duration
from services.runtime import serial


def test_defaults_are_the_designs() -> None:
    p = DEFAULT_POLICY
    assert (p.acceptance_working_days, p.mediation_working_days) == (7, 45)
    assert p.nearing_working_days == 2
    assert p.duplicate_window == timedelta(hours=48)
    assert p.similarity_threshold == 0.5
    assert p.timezone == "Asia/Shanghai"


def test_overrides_replace_the_defaults_they_name() -> None:
    policy = Policy.from_dict(
        {
            "acceptance_working_days": 5,
            "nearing_working_days": 1,
            "duplicate_window": "72h",
            "similarity_threshold": 1,
            "timezone": "Asia/Urumqi",
        }
    )
    assert policy.acceptance_working_days == 5
    assert policy.mediation_working_days == 45  # untouched
    assert policy.nearing_working_days == 1
    assert policy.duplicate_window == timedelta(hours=72)
    assert policy.similarity_threshold == 1.0 and isinstance(policy.similarity_threshold, float)
    assert policy.timezone == "Asia/Urumqi"
    assert Policy.from_dict({"duplicate_window": 3600}).duplicate_window == timedelta(hours=1)


def test_to_dict_is_json_and_reads_back() -> None:
    text = json.dumps(serial.dump(DEFAULT_POLICY))
    assert Policy.from_dict(json.loads(text)) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"acceptance_days": 5}, "unknown policy settings: acceptance_days"),
        ({"acceptance_working_days": 0}, "acceptance_working_days must be between 1 and 365"),
        ({"acceptance_working_days": "7"}, "acceptance_working_days must be an integer"),
        ({"mediation_working_days": True}, "mediation_working_days must be an integer"),
        ({"mediation_working_days": 400}, "mediation_working_days must be between 1 and 365"),
        ({"nearing_working_days": -1}, "nearing_working_days must be at least 0"),
        ({"nearing_working_days": 7}, r"below the shortest clock \(7 working days\)"),
        ({"duplicate_window": "two days"}, "duplicate_window: 'two days' is not a duration"),
        ({"duplicate_window": 0}, "duplicate_window must be positive"),
        ({"similarity_threshold": 0}, r"similarity_threshold must be in \(0, 1\]"),
        ({"similarity_threshold": 1.5}, "similarity_threshold"),
        ({"similarity_threshold": float("nan")}, "similarity_threshold"),
        ({"similarity_threshold": "0.5"}, "similarity_threshold"),
        ({"timezone": "Asia/Beijing"}, "unknown timezone 'Asia/Beijing'"),
    ],
)
def test_nonsense_fails_at_start_up(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.from_dict(overrides)


def test_the_policy_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICY.acceptance_working_days = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("48h", timedelta(hours=48)),
        ("2d", timedelta(days=2)),
        ("90m", timedelta(minutes=90)),
        (" 30 s ", timedelta(seconds=30)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(hours=1), timedelta(hours=1)),
    ],
)
def test_durations(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["-1h", "1w", "", None, True, float("inf")])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(value, "window")
