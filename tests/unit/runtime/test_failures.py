"""Several problems at once (InvalidInputs): the body every API shows names each field with its
reason, and the domain's own kinds (a complaint, a completion, a self-inspection) are the same."""

from __future__ import annotations

import pytest

from services.campaign.domain.self_inspection import InvalidSelfInspection
from services.complaints.domain.errors import InvalidComplaint
from services.inspection.domain.errors import InvalidCompletion
from services.runtime.failures import InvalidInput, InvalidInputs

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
