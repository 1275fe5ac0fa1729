"""The complaints use cases on the in-memory stores and a fake unit of work, at a settable
time: the `world` fixture and what the suites that drive it share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.complaints import ComplaintSubmission
from services.complaints.domain import DEFAULT_POLICY
from services.complaints.fakes import FakeComplaintStore, FakePhotoStore, FakeSuggestionStore
from services.complaints.metrics import ComplaintsMetrics
from services.complaints.service import Complaints, Suggestions
from services.complaints.store import Stores
from services.runtime.data_files import default_calendar
from services.runtime.directory import RegistryMemory
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support.clock import Clock
from tests.support.registry import market, merchant

T0 = datetime(2026, 5, 6, 1, 30, tzinfo=UTC)  # a Wednesday, 09:30 in the city


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    complaints_store: FakeComplaintStore
    suggestions_store: FakeSuggestionStore
    clock: Clock
    complaints: Complaints
    suggestions: Suggestions
    metrics: ComplaintsMetrics
    photos_store: FakePhotoStore

    def types(self) -> list[str]:
        return list(self.uow.event_types())


@pytest.fixture
def world() -> World:
    cs, ss, ps = FakeComplaintStore(), FakeSuggestionStore(), FakePhotoStore()
    uow = FakeUnitOfWork(Stores(cs, ss, ps))
    directory = RegistryMemory(
        market("mkt_1", "zhifu"),
        market("mkt_2", "laishan"),
        market("mkt_3", "zhifu"),
        merchant("mer_1", "mkt_1", "A-01"),
        merchant("mer_2", "mkt_1", "A-02"),
        merchant("mer_3", "mkt_2", "B-01"),
    )
    clock = Clock(T0)
    metrics = ComplaintsMetrics(Metrics("complaints"))
    complaints = Complaints(
        uow.factory(), directory, DEFAULT_POLICY, default_calendar(), clock, metrics
    )
    suggestions = Suggestions(uow.factory(), directory, clock)
    return World(uow, cs, ss, clock, complaints, suggestions, metrics, ps)


def submission(**changes: Any) -> ComplaintSubmission:
    body: dict[str, Any] = {
        "complainant": {"name": "张三", "phone": "13812345678"},
        "market_id": "mkt_1",
        "merchant_id": "mer_1",
        "category": "short_weight",
        "facts": f"称重少了二两 {uuid.uuid4().hex[:6]}",
        "request": "退还差价",
        "channel": "web",
    }
    return ComplaintSubmission.model_validate(body | changes)


def count(metric: Any, *labels: str) -> float:
    value: float = metric.labels(*labels)._value.get()
    return value
