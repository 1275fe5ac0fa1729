"""The body every API shows for a refusal: one field named with its reason (`field=`), or several
problems at once (InvalidInputs), each field with its reason, the domain's own kinds (a
complaint, a completion, a self-inspection) the same."""

from __future__ import annotations

import pytest

from services.campaign.domain.self_inspection import InvalidSelfInspection
from services.complaints.domain.errors import InvalidComplaint
from services.inspection.domain.errors import InvalidCompletion
from services.runtime.failures import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidInputs,
    NotFound,
    ServiceError,
    TooLarge,
)

PROBLEMS = [("complainant.phone", "not a mainland mobile number"), ("details", "blank")]


@pytest.mark.parametrize(
    "kind", [InvalidInputs, InvalidComplaint, InvalidCompletion, InvalidSelfInspection]
)
def test_every_problem_is_named_in_the_body(kind: type[InvalidInputs]) -> None:
    error = kind(PROBLEMS)
    assert isinstance(error, InvalidInput)
    assert error.body() == {
        "error": "invalid_input",
        "message": "complainant.phone: not a mainland mobile number; details: blank",
        "errors": [
            {"field": "complainant.phone", "reason": "not a mainland mobile number"},
            {"field": "details", "reason": "blank"},
        ],
    }
    assert (error.field, error.reason) == PROBLEMS[0]
    assert error.problems == PROBLEMS


def test_no_problem_is_a_programming_error_named_by_its_kind() -> None:
    with pytest.raises(ValueError, match="InvalidComplaint needs at least one problem"):
        InvalidComplaint([])


def test_raise_any_raises_every_problem_as_its_kind_and_nothing_without_one() -> None:
    class InvalidThing(InvalidInputs):
        pass

    InvalidThing.raise_any([])  # nothing to refuse
    with pytest.raises(InvalidThing) as refused:
        InvalidThing.raise_any([("a", "must not be blank"), ("b", "too long")])
    assert refused.value.errors == [
        {"field": "a", "reason": "must not be blank"},
        {"field": "b", "reason": "too long"},
    ]


@pytest.mark.parametrize("kind", [ServiceError, NotFound, Conflict, Forbidden, TooLarge])
def test_a_refusal_naming_one_field_gives_it_the_reason_which_is_the_message_unless_given(
    kind: type[ServiceError],
) -> None:
    taken = kind("stall 'A-01' has a merchant", field="stall_no")
    assert taken.body() == {
        "error": kind.code,
        "message": "stall 'A-01' has a merchant",
        "errors": [{"field": "stall_no", "reason": "stall 'A-01' has a merchant"}],
    }
    missing = kind("no market 'mkt_1'", field="market_id", reason="no such market")
    assert missing.body() == {
        "error": kind.code,
        "message": "no market 'mkt_1'",
        "errors": [{"field": "market_id", "reason": "no such market"}],
    }


def test_one_field_and_a_list_of_errors_at_once_or_a_reason_without_its_field_is_a_mistake() -> (
    None
):
    with pytest.raises(ValueError, match="either errors or one field"):
        Conflict("taken", [{"field": "a", "reason": "taken"}], field="b")
    with pytest.raises(ValueError, match="a reason names the field it is for"):
        Conflict("taken", reason="taken")
