"""Wiring of joint meetings and enforcement into the campaign service: the departments file read
and handed to the rules, the tables (migrations component `joint`), the unit of work, the
routers keeping the possible origins of cases (each in a consumer group of its own), the clock
that flags late action items, and the HTTP routes."""

from __future__ import annotations

from pathlib import Path

from contracts import topics
from services.campaign.joint.api import JointRouter, build_router
from services.campaign.joint.config import JointConfig
from services.campaign.joint.handlers import complaints_router, inspection_router
from services.campaign.joint.metrics import JointMetrics
from services.campaign.joint.policy_files import load_departments
from services.campaign.joint.service import Joint
from services.campaign.joint.store import postgres_stores
from services.runtime.app import Service
from services.runtime.clock import Clock
from services.runtime.directory import RegistryDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def attach(
    service: Service,
    directory: RegistryDirectory,
    *,
    config: JointConfig,
    now: Clock,
    consume: bool = True,
) -> JointRouter:
    """Wire joint meetings and enforcement into `service`; the routes to add to its app (an
    APIRouter; its `joint` is the use cases).

    `consume=False` (one-off CLI runs) leaves the origin topics to the running service."""
    departments = load_departments(config.departments_file)
    service.add_migrations("joint", MIGRATIONS)
    uow = service.units(postgres_stores)
    joint = Joint(uow, directory, config, departments, now, JointMetrics(service.metrics))
    if consume:
        group = service.settings.group_id
        service.subscribe(
            topics.INSPECTION_EVENTS.name,
            inspection_router(joint),
            group_id=f"{group}-joint-inspection",
        )
        service.subscribe(
            topics.COMPLAINTS_EVENTS.name,
            complaints_router(joint),
            group_id=f"{group}-joint-complaints",
        )
    if config.check_interval_s > 0:
        service.every(config.check_interval_s, joint.flag_late_items, "joint-late-items")
    return build_router(joint)
