"""The inspection use cases on the fake stores and the fake unit of work, at a settable time:
the `world` fixture and what the suites that drive it share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from services.inspection.fakes import fake_stores
from services.inspection.policy_files import default_catalogue
from services.inspection.projections import Directory
from services.inspection.service import InspectionService, Observer
from services.inspection.store import MarketInfo, MerchantInfo, Stores
from services.runtime.messaging import Delivery
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support.inspection_builders import POLICY, T0, TASK_FORCE, risk


class Noted(Observer):
    """The plan changes the use cases report (a redelivery reports none: it is not handled)."""

    def __init__(self) -> None:
        self.plans: list[str] = []

    def plan(self, change: str) -> None:
        self.plans.append(change)


@dataclass
class World:
    stores: Stores
    uow: FakeUnitOfWork[Stores]
    directory: Directory
    service: InspectionService
    noted: Noted
    clock: list[datetime] = field(default_factory=lambda: [T0])

    def at(self, when: datetime) -> None:
        self.clock[0] = when

    def types(self) -> list[str]:
        return list(self.uow.event_types())


@pytest.fixture
def world() -> World:
    stores = fake_stores()
    uow = FakeUnitOfWork(stores)
    directory = Directory(uow.factory())
    directory.markets["mkt_1"] = MarketInfo("mkt_1", "zhifu", "东关市场", TASK_FORCE, 1)
    merchant = MerchantInfo("mer_1", "mkt_1", "zhifu", "A-12", "active", 1)
    directory.merchants["mer_1"] = merchant
    clock = [T0]
    noted = Noted()
    service = InspectionService(
        uow.factory(),
        directory,
        POLICY,
        lambda: clock[0],
        catalogue=default_catalogue(),
        observer=noted,
    )
    return World(stores, uow, directory, service, noted, clock)


def delivery(offset: int = 1, topic: str = "telemetry.risks.v1") -> Delivery:
    return Delivery(topic=topic, partition=0, offset=offset, key=b"k", value=b"{}")


async def open_task(world: World, event_id: str = "ev_r1") -> str:
    await world.service.trigger(risk(event_id=event_id), delivery(), "inspection-risks", "risk")
    [task] = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    return task.task_id
