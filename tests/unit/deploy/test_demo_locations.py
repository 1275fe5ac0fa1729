"""Every market `make demo` seeds is located (deploy/local/demo.py), so the portal's 附近的市场
orders the demo's markets from the first run; each location is one the registry takes."""

from __future__ import annotations

from deploy.local.demo import CITY, LOCATIONS
from services.registry.domain.geo import distance_m, location_problems


def test_each_seeded_market_has_a_location_the_registry_takes_in_the_demo_city() -> None:
    names = [market[0] for district in CITY for market in district["markets"]]
    assert sorted(names) == sorted(LOCATIONS)
    for name, (latitude, longitude) in LOCATIONS.items():
        assert location_problems(latitude, longitude) == [], name
    # One city: every two of its markets within 20 km of each other.
    points = list(LOCATIONS.values())
    assert max(distance_m(a, b) for a in points for b in points) < 20_000
