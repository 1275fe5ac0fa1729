"""Where a market stands, and how far a citizen is from it: WGS-84 degrees (what a phone's
location reports), distances along the Earth's surface. Pure."""

from __future__ import annotations

import math
from typing import Final

# The Earth's mean radius (IUGG): over a city's few kilometres the sphere errs by well under 1 %.
EARTH_RADIUS_M: Final = 6_371_008.8

Point = tuple[float, float]  # (latitude, longitude) in degrees


def location_problems(latitude: float, longitude: float) -> list[tuple[str, str]]:
    """What is wrong with a location, each problem naming its field."""
    problems = []
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        problems.append(("latitude", "must be from -90 to 90 degrees"))
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        problems.append(("longitude", "must be from -180 to 180 degrees"))
    return problems


def given_location_problems(
    latitude: float | None, longitude: float | None
) -> list[tuple[str, str]]:
    """What is wrong with a location a registration may leave out: both or neither (None: not
    given), each in its range."""
    if latitude is None and longitude is None:
        return []
    if latitude is None:
        return [("latitude", "must be given with longitude")]
    if longitude is None:
        return [("longitude", "must be given with latitude")]
    return location_problems(latitude, longitude)


def distance_m(a: Point, b: Point) -> float:
    """The great-circle distance between two points, in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
