"""Where a market stands and how far it is (services/registry/domain/geo.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from services.registry.domain.geo import EARTH_RADIUS_M, distance_m, location_problems
from services.runtime.failures import InvalidInput
from tests.unit.registry.conftest import market

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)


def test_a_degree_of_latitude_is_a_360th_of_the_great_circle() -> None:
    assert distance_m((0.0, 0.0), (1.0, 0.0)) == pytest.approx(2 * math.pi * EARTH_RADIUS_M / 360)
    # A degree of longitude shrinks with the cosine of the latitude.
    assert distance_m((60.0, 10.0), (60.0, 11.0)) == pytest.approx(
        2 * math.pi * EARTH_RADIUS_M / 360 * 0.5, rel=1e-4
    )


def test_a_distance_is_symmetric_zero_at_one_place_and_half_the_circle_at_most() -> None:
    a, b = (37.5384, 121.3977), (37.4946, 121.4452)
    assert distance_m(a, b) == pytest.approx(distance_m(b, a))
    assert 6300 < distance_m(a, b) < 6500
    assert distance_m(a, a) == 0
    assert distance_m((0.0, 0.0), (0.0, 180.0)) == pytest.approx(math.pi * EARTH_RADIUS_M)


@pytest.mark.parametrize(
    ("latitude", "longitude", "fields"),
    [
        (37.5, 121.4, []),
        (-90.0, 180.0, []),
        (90.5, 121.4, ["latitude"]),
        (37.5, -180.5, ["longitude"]),
        (math.nan, math.inf, ["latitude", "longitude"]),
    ],
)
def test_a_location_out_of_range_names_each_field(
    latitude: float, longitude: float, fields: list[str]
) -> None:
    assert [field for field, _ in location_problems(latitude, longitude)] == fields


def test_a_located_market_has_both_degrees_and_a_new_version() -> None:
    before = market()
    assert before.location is None
    after = before.with_location(37.5384, 121.3977, NOW)
    assert (after.location, after.version, after.updated_at) == ((37.5384, 121.3977), 2, NOW)
    with pytest.raises(InvalidInput) as refused:
        before.with_location(91.0, 121.0, NOW)
    assert refused.value.field == "latitude"
