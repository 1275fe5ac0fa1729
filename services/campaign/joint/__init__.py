"""Joint meetings of the departments (联席会议) with their action items, and joint enforcement
cases (联合执法), in the campaign service.

    router = joint.attach(service, directory, config=JointConfig(...), now=utc_now)
    app = create_app(service, [..., router], ...)

`attach` registers the tables (migrations component `joint`), the consumers of
`inspection.events.v1` and `complaints.events.v1` that keep the possible origins of cases (each
in a consumer group of its own), and the clock that flags late action items; it returns the HTTP
routes. `directory` is the campaign's registry view (attached by the app): known districts for
meetings, market and merchant names for cases.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from contracts import topics
from services.campaign.joint.api import JointRouter, build_router
from services.campaign.joint.commands import Joint
from services.campaign.joint.config import JointConfig, load_departments
from services.campaign.joint.origins import Origins
from services.runtime.app import Service
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = ["MIGRATIONS", "Joint", "JointConfig", "JointRouter", "attach"]


def attach(
    service: Service,
    directory: RegistryDirectory,
    *,
    config: JointConfig,
    now: Callable[[], datetime],
    consume: bool = True,
) -> JointRouter:
    """Wire joint meetings and enforcement into `service`; the routes to add to its app (an
    APIRouter; its `joint` is the use cases, `joint.clock` the late-item clock).

    `consume=False` (one-off CLI runs) leaves the origin topics to the running service."""
    departments = load_departments(config.departments_file)
    service.add_migrations("joint", MIGRATIONS)
    joint = Joint(service, directory, config, departments, now)
    if consume:
        origins = Origins(service)
        group = service.settings.group_id
        service.subscribe(
            topics.INSPECTION_EVENTS.name,
            origins.on_inspection,
            group_id=f"{group}-joint-inspection",
        )
        service.subscribe(
            topics.COMPLAINTS_EVENTS.name,
            origins.on_complaint,
            group_id=f"{group}-joint-complaints",
        )
    if config.check_interval_s > 0:
        service.every(config.check_interval_s, joint.clock.run, "joint-late-items")
    return build_router(joint)
