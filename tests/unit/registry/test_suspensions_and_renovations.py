"""Pure registry rules that other services' events drive: suspensions ordered by inspection,
and a market's renovation status following the campaign's renovation projects."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.registry.domain.model import market_renovation_status
from tests.unit.registry.conftest import merchant

NOW = datetime(2026, 6, 1, 2, tzinfo=UTC)
TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("stages", "status"),
    [
        ([], "not_planned"),
        (["planned"], "planned"),
        (["approved", "planned"], "planned"),
        (["under_construction", "planned"], "in_progress"),
        (["accepted", "approved"], "in_progress"),
        (["accepted", "accepted"], "completed"),
    ],
)
def test_market_renovation_status_follows_its_projects(stages: list[str], status: str) -> None:
    assert market_renovation_status(stages) == status


MERCHANT = merchant(name="老王鲜肉", market_id="m1", licence_valid_until=date(2026, 12, 31))


def test_a_suspension_and_its_lifting_are_new_versions() -> None:
    suspended = MERCHANT.suspend(NOW)
    assert (suspended.status, suspended.version) == ("suspended", 2)
    lifted = suspended.lift_suspension(TODAY, NOW)
    assert (lifted.status, lifted.version) == ("active", 3)


def test_lifting_after_the_licence_ran_out_leaves_it_expired() -> None:
    lifted = MERCHANT.suspend(NOW).lift_suspension(date(2027, 1, 1), NOW)
    assert lifted.status == "licence_expired"
