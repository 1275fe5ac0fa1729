"""The joint work's stack for the integration tests of test_joint.py and
test_joint_departments.py: the campaign's joint part in process (a minimal app: the runtime's
Service, the registry view, `joint.attach`), the registry beside it for a real district, market
and merchant, and a producer for the inspection and complaint events those services would send."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.complaints import ComplaintAccepted
from contracts.envelope import make_event
from contracts.inspection import Finding, TaskCompleted
from services.campaign.joint import Joint, JointConfig, attach
from services.campaign.settings import CampaignSettings
from services.runtime.app import Service, create_app
from services.runtime.directory import RegistryDirectory
from tests.support import identity
from tests.support.city import Clock, Place, in_process, provision, start_group_at_end
from tests.support.poll import until

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Stack:
    client: httpx.AsyncClient
    registry: httpx.AsyncClient
    app: Any
    producer: AIOKafkaProducer
    clock: Clock

    @property
    def joint(self) -> Joint:
        found: Joint = self.app.state.joint
        return found

    async def call(
        self, method: str, path: str, role: str, district: str, body: Any = None
    ) -> httpx.Response:
        return await self.client.request(
            method, path, json=body, headers=identity.bearer(role, district)
        )

    async def place(self) -> Place:
        """A district, market and merchant, once the campaign's registry view knows them."""
        place = await provision(self.registry)
        directory: RegistryDirectory = self.app.state.directory
        await until(
            lambda: (
                place.market_id in directory.markets and place.merchant_id in directory.merchants
            ),
            what="the registry view knows the place",
        )
        return place

    async def origin_known(self, kind: str, origin_id: str) -> None:
        pool = self.app.state.service.pool
        await until(
            lambda: pool.fetchval(
                "SELECT true FROM joint_origins WHERE kind = $1 AND id = $2", kind, origin_id
            ),
            what=f"the campaign knows {kind} {origin_id}",
        )

    async def finding(self, place: Place, outcome: str) -> tuple[str, str, str]:
        """An inspection task completed with `outcome` for the place's merchant, produced to
        inspection.events.v1 as inspection would; (task id, event id, correlation id)."""
        task_id = f"tsk_{uuid.uuid4().hex[:12]}"
        now = datetime.now(UTC)
        findings = (
            []
            if outcome == "pass"
            else [
                Finding(
                    code="CCH-01",
                    group="cold_chain",
                    severity="critical" if outcome == "critical" else "minor",
                    title_zh="冷链温度超标",
                    title_en="cold chain out of range",
                    note="冷柜 14 °C",
                )
            ]
        )
        data = TaskCompleted(
            task_id=task_id,
            version=3,
            reason_kind="risk",
            state="completed",
            market_id=place.market_id,
            district=place.district,
            merchant_id=place.merchant_id,
            stall_no=place.stall_no,
            task_force=None,
            triggers=[],
            created_at=now - timedelta(hours=3),
            due_at=now - timedelta(hours=1),
            assignee="inspector",
            claimed_at=now - timedelta(hours=2),
            overdue_at=None,
            outcome=outcome,
            findings=findings,
            departments=["market_regulation", "health"],
            completed_by="inspector",
            completed_at=now,
            rectification_id=None if outcome == "pass" else f"rec_{task_id}",
        )
        correlation = f"risk_{uuid.uuid4().hex[:12]}"
        event = make_event(
            service="inspection",
            event_type="inspection.task.completed",
            version=1,
            subject=task_id,
            data=data,
            correlation_id=correlation,
        )
        await self.producer.send_and_wait(
            topics.INSPECTION_EVENTS.name, event.to_json(), key=task_id.encode()
        )
        await self.origin_known("finding", task_id)
        return task_id, event.id, correlation

    async def accepted_complaint(self, place: Place) -> str:
        complaint_id = f"cmp_{uuid.uuid4().hex[:12]}"
        now = datetime.now(UTC)
        data = ComplaintAccepted(
            complaint_id=complaint_id,
            version=2,
            tracking_code="ABCDEFGHJK",
            state="accepted",
            complainant={"name": "张*", "phone": "138****5678"},
            market_id=place.market_id,
            district=place.district,
            merchant_id=place.merchant_id,
            stall_no=place.stall_no,
            category="food_safety",
            facts="买到变质猪肉",
            request="查处",
            channel="web",
            occurred_at=None,
            received_at=now - timedelta(days=1),
            acceptance_deadline=now + timedelta(days=6),
            accepted_at=now,
            mediation_deadline=now + timedelta(days=60),
            rejected_at=None,
            reject_reason=None,
            closed_at=None,
            outcome=None,
            substantiated=None,
            satisfaction=None,
            duplicate_of=None,
            duplicates=[],
            acceptance_overdue_at=None,
            mediation_overdue_at=None,
            handled_by="handler",
            external_ref=None,
        )
        event = make_event(
            service="complaints",
            event_type="complaints.complaint.accepted",
            version=1,
            subject=complaint_id,
            data=data,
            correlation_id=complaint_id,
        )
        await self.producer.send_and_wait(
            topics.COMPLAINTS_EVENTS.name, event.to_json(), key=complaint_id.encode()
        )
        await self.origin_known("complaint", complaint_id)
        return complaint_id


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    clock = Clock()
    group = f"joint-{uuid.uuid4().hex[:8]}"
    # The origins' consumers start at the ends of the shared topics: they see what the tests
    # produce. (The registry view reads the compacted registry topics from the beginning.)
    await start_group_at_end(kafka, f"{group}-joint-inspection", topics.INSPECTION_EVENTS.name)
    await start_group_at_end(kafka, f"{group}-joint-complaints", topics.COMPLAINTS_EVENTS.name)

    def build(common: dict[str, Any]) -> Any:
        settings = CampaignSettings(
            **common, consumer_group=group, db_schema=f"joint_{uuid.uuid4().hex[:8]}"
        )
        service = Service(settings)
        directory = RegistryDirectory()
        directory.attach(service)
        # No periodic clock: the tests run it when they choose.
        router = attach(service, directory, config=JointConfig(check_interval_s=0), now=clock)
        app = create_app(service, [router], title="campaign: joint work")
        app.state.joint = router.joint
        app.state.directory = directory
        return app

    async with in_process(kafka, database_url, secrets_env, build) as run:
        yield Stack(run.client, run.registry, run.app, run.producer, clock)


def meeting_body(district: str, **changes: Any) -> dict[str, Any]:
    today = datetime.now(TZ).date()
    body: dict[str, Any] = {
        "district": district,
        "title": "联席会议",
        "held_on": (today - timedelta(days=5)).isoformat(),
        "departments": ["market_regulation", "health"],
        "minutes": "通报检查情况",
        "decisions": [
            {
                "decision": "排查冷链",
                "department": "health",
                "deadline": (today - timedelta(days=1)).isoformat(),
            },
            {
                "decision": "清理占道",
                "department": "urban_management",
                "deadline": (today + timedelta(days=10)).isoformat(),
            },
        ],
    }
    body.update(changes)
    return body
