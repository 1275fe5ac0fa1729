"""The campaign's one rule for a required text, used by every form of its domains."""

from __future__ import annotations

import pytest

from services.campaign.domain.text import required_text, text_problem
from services.runtime.failures import InvalidInput


def test_a_text_is_kept_stripped() -> None:
    assert required_text("title", "  联席会议  ", 10) == "联席会议"
    assert text_problem(" 会 ", 1) == ("会", None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("", "must not be blank"), ("   ", "must not be blank"), ("长" * 11, "at most 10")],
)
def test_a_blank_or_long_text_is_refused_naming_its_field(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        required_text("place", value, 10)
    assert refused.value.field == "place"
    assert reason in refused.value.reason
