"""What the joint work's tests share (test_joint_service.py, test_department_ownership.py): the
in-memory stores, zhifu's and laishan's markets, a clock, a meeting recorded and a case opened
from a completed inspection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import Envelope, make_event
from contracts.inspection import TaskCompleted
from services.campaign.domain.meetings import DecisionInput
from services.campaign.joint.config import DEPARTMENTS_FILE, JointConfig
from services.campaign.joint.fakes import FakeMeetingStore, fake_stores
from services.campaign.joint.handlers import inspection_router
from services.campaign.joint.metrics import JointMetrics
from services.campaign.joint.policy_files import load_departments
from services.campaign.joint.service import Joint
from services.campaign.joint.store import Stores
from services.runtime.auth import Principal
from services.runtime.directory import RegistryMemory
from services.runtime.fake_tables import snapshot
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support.clock import Clock
from tests.support.inspection_feed import CRITICAL_FINDING
from tests.support.registry import market

T0 = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 09:00 in the city
ADMIN = Principal(subject="admin", role="admin", district="*")
CLERK = Principal(subject="c-zhou", role="clerk", district="zhifu", name="周文员")
ELSEWHERE = Principal(subject="c-li", role="clerk", district="laishan")


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    stores: Stores
    clock: Clock
    joint: Joint

    def types(self) -> list[str]:
        return list(self.uow.event_types())

    def counts(self) -> tuple[int, ...]:
        meetings = self.stores.meetings
        assert isinstance(meetings, FakeMeetingStore)
        return (
            len(meetings.meetings),
            len(meetings.items_by_id),
            len(self.stores.origins.rows),  # type: ignore[attr-defined]
            len(self.stores.cases.rows),  # type: ignore[attr-defined]
            len(self.uow.published),
        )


@pytest.fixture
def world() -> World:
    stores = fake_stores()
    uow = FakeUnitOfWork(stores, snapshot=snapshot(stores))
    directory = RegistryMemory(market("mkt_1", "zhifu"), market("mkt_2", "laishan"))
    directory.caught_up.set()
    clock = Clock(T0)
    joint = Joint(
        uow.factory(),
        directory,
        JointConfig(check_interval_s=0),
        load_departments(DEPARTMENTS_FILE),
        clock,
        JointMetrics(Metrics("campaign")),
    )
    return World(uow, stores, clock, joint)


async def recorded(world: World, who: Principal = CLERK, district: str = "zhifu") -> str:
    m = await world.joint.record_meeting(
        who,
        district=district,
        title="第一次联席会议",
        held_on=date(2026, 5, 8),
        departments=["market_regulation", "health"],
        minutes="研究部署",
        decisions=[
            DecisionInput("排查冷链", "health", date(2026, 5, 15)),
            DecisionInput("整治占道", "market_regulation", date(2026, 6, 30)),
        ],
    )
    return m.meeting_id


def task_completed(task_id: str = "task_1", outcome: str = "critical") -> Envelope[Any]:
    data = TaskCompleted(
        task_id=task_id,
        version=3,
        reason_kind="risk",
        state="completed",
        market_id="mkt_1",
        district="zhifu",
        merchant_id="mer_1",
        stall_no="A-01",
        task_force=None,
        triggers=[],
        created_at=T0 - timedelta(hours=3),
        due_at=T0 - timedelta(hours=1),
        assignee="inspector",
        claimed_at=T0 - timedelta(hours=2),
        overdue_at=None,
        outcome=outcome,
        findings=[CRITICAL_FINDING] if outcome != "pass" else [],
        departments=["market_regulation", "health"],
        completed_by="inspector",
        completed_at=T0 - timedelta(minutes=30),
        rectification_id=None if outcome == "pass" else f"rec_{task_id}",
    )
    return make_event(
        service="inspection",
        event_type="inspection.task.completed",
        version=1,
        subject=task_id,
        data=data,
        correlation_id="risk_1",
    )


def delivery(event: Envelope[Any], topic: str = "inspection.events.v1") -> Delivery:
    return Delivery(topic, 0, 0, None, event.to_json(), (("ce_type", event.type.encode()),))


async def opened(world: World, task_id: str = "task_1") -> str:
    await inspection_router(world.joint)(delivery(task_completed(task_id)))
    case = await world.joint.open_case(
        CLERK,
        kind="finding",
        origin_id=task_id,
        departments=["market_regulation", "health"],
        facts="冷链温度严重超标",
    )
    return case.case_id
