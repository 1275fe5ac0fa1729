"""Every value a task's contract can carry has a Chinese label on the pages: a value added to the
contract without one would show its raw code (a renovation task once showed as a complaint)."""

from __future__ import annotations

from typing import get_args

import pytest

from contracts.inspection import (
    Outcome,
    ReasonKind,
    RectificationState,
    TaskState,
    TriggerKind,
    WithdrawalReason,
)
from services.console import labels


@pytest.mark.parametrize(
    ("literal", "table"),
    [
        (ReasonKind, labels.REASON_KIND),
        (TriggerKind, labels.TRIGGER_KIND),
        (TaskState, labels.TASK_STATE),
        (Outcome, labels.OUTCOME),
        (WithdrawalReason, labels.WITHDRAWAL_REASON),
        (RectificationState, labels.RECTIFICATION_STATE),
    ],
)
def test_each_value_of_the_task_contract_has_a_label(
    literal: object, table: dict[str, str]
) -> None:
    missing = [v for v in get_args(literal) if not table.get(v)]
    assert missing == []


def test_the_trigger_tags_tell_a_renovation_check_from_a_complaint() -> None:
    tags = {labels.TRIGGER_KIND[k] for k in get_args(TriggerKind)}
    assert len(tags) == len(get_args(TriggerKind))
