"""The public consultation on a renovation plan (征求群众意见) on real Kafka and Postgres: the
complaints service takes a citizen's suggestion naming the plan (`project_id`) through its
public `POST /suggestions`, the campaign attaches it to the plan's open consultation — once,
however often Kafka delivers it — the plan answers it, and construction waits for the answers.
The registry, the campaign and the complaints service run in process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from contracts.campaign import RenovationUpserted
from contracts.envelope import make_event
from contracts.suggestions import SuggestionReceived
from services.complaints.app import build as build_complaints
from services.complaints.settings import ComplaintsSettings
from services.runtime.messaging import Delivery
from tests.integration.campaign.conftest import Api
from tests.support.city import start_group_at_end
from tests.support.complaints_events import suggestion_received
from tests.support.kafka import Record, TopicWatcher, redeliver
from tests.support.poll import until
from tests.support.registry_api import market_body

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
CAMPAIGN = topics.REGISTRY_CAMPAIGN.name
SUGGESTIONS = topics.COMPLAINTS_SUGGESTIONS.name


def city_today() -> date:
    return datetime.now(SHANGHAI).date()


@dataclass
class Stack:
    api: Api
    complaints: httpx.AsyncClient
    complaints_app: Any
    kafka: str

    @property
    def suggestions_group(self) -> str:
        return f"{self.api.app.state.service.settings.group_id}-suggestions"

    async def handled(self) -> None:
        """Once the campaign has handled everything now on the suggestions topic."""
        messaging = self.api.app.state.service.messaging
        await messaging.caught_up(SUGGESTIONS, self.suggestions_group)


@pytest.fixture(scope="module")
async def stack(
    api: Api, kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[Stack]:
    """The complaints service beside the campaign's module stack (its own schema and groups, at
    the ends of the topics it consumes)."""
    group = f"cc-sug-{uuid.uuid4().hex[:8]}"
    for topic in (topics.COMPLAINTS_INTAKE.name, topics.INSPECTION_EVENTS.name):
        await start_group_at_end(kafka, group, topic)
    app = build_complaints(
        ComplaintsSettings(
            kafka_bootstrap_servers=kafka,
            database_url=database_url,
            oidc_issuer=secrets_env["OIDC_ISSUER"],
            outbox_poll_interval_s=0.1,
            consumer_group=group,
            db_schema=f"complaints_{uuid.uuid4().hex[:6]}",
            clock_check_interval_s=3600,
        )
    )
    await app.state.service.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://complaints"
        ) as client:
            yield Stack(api, client, app, kafka)
    finally:
        await app.state.service.stop()


async def _plan(stack: Stack) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A district, a market both services know, a campaign and a planned renovation project."""
    api = stack.api
    district = f"q{uuid.uuid4().hex[:8]}"
    r = await api.registry.post("/districts", {"code": district, "name": f"{district}区"})
    assert r.status_code == 201, r.text
    r = await api.registry.post("/markets", market_body(district, name="征询农贸市场"))
    assert r.status_code == 201, r.text
    market: dict[str, Any] = r.json()
    await api.knows(market)
    directory = stack.complaints_app.state.complaints.directory
    await until(lambda: market["id"] in directory.markets, what="complaints knows the market")
    mob = city_today() - timedelta(days=5)
    r = await api.post(
        "/campaigns",
        {
            "name": "提升改造",
            "mobilisation_date": mob.isoformat(),
            "districts": [district],
            # (by default the deployment meeting is due on 30 April)
            "deadlines": {"deployment_meeting_held": {"days_after_mobilisation": 30}},
        },
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        "/renovations",
        {
            "campaign_id": r.json()["id"],
            "market_id": market["id"],
            "kind": "old_market_upgrade",
            "title": "征询农贸市场提升改造方案",
            "scope_items": [{"area": "hygiene", "description": "改造排水沟"}],
            "budget": [{"source": "fiscal", "amount_yuan": "800000.00"}],
        },
        "clerk",
        district,
    )
    assert r.status_code == 201, r.text
    return district, market, r.json()


def _upserts(project_id: str, change: str) -> Callable[[Record], bool]:
    def match(rec: Record) -> bool:
        body = rec.json()
        return bool(
            body["type"] == "registry.renovation.upserted"
            and body["subject"] == project_id
            and body["data"]["change"] == change
        )

    return match


def _parse(rec: Record, model: Any) -> Any:
    return Delivery(rec.topic, rec.partition, rec.offset, rec.key, rec.value).envelope(model)


async def _produce(kafka: str, data: SuggestionReceived) -> str:
    """A `complaints.suggestion.received` event as the complaints service publishes it."""
    event = make_event(
        service="complaints",
        event_type="complaints.suggestion.received",
        version=1,
        subject=data.suggestion_id,
        data=data,
        correlation_id=data.suggestion_id,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(SUGGESTIONS, event.to_json(), key=data.suggestion_id.encode())
    finally:
        await producer.stop()
    return event.id


async def test_a_suggestion_on_an_open_plan_is_its_comment_exactly_once(
    stack: Stack, kafka: str
) -> None:
    api = stack.api
    district, market, project = await _plan(stack)
    pid = project["id"]
    today = city_today()
    async with (
        TopicWatcher(kafka, CAMPAIGN) as campaign_events,
        TopicWatcher(kafka, SUGGESTIONS) as suggestion_events,
    ):
        r = await api.post(f"/renovations/{pid}/consultation", {"days": 7}, "clerk", district)
        assert r.status_code == 200, r.text
        consultation = r.json()["consultation"]
        assert (consultation["opens_on"], consultation["closes_on"]) == (
            today.isoformat(),
            (today + timedelta(days=6)).isoformat(),
        )
        assert (consultation["open"], consultation["comments"], consultation["unanswered"]) == (
            True,
            [],
            0,
        )
        [opened] = await campaign_events.wait_for(_upserts(pid, "consultation_opened"))
        event = _parse(opened, RenovationUpserted)
        assert event.data.consultation.closes_on == today + timedelta(days=6)
        assert event.data.actor is not None

        # Public: the plan is open for comment.
        r = await api.client.get("/public/consultations", params={"market_id": market["id"]})
        [public] = r.json()["items"]
        assert (public["project_id"], public["open"], public["comments"]) == (pid, True, 0)
        assert public["market_name"] == "征询农贸市场"

        # A citizen comments through the public suggestion form's endpoint.
        r = await stack.complaints.post(
            "/suggestions",
            json={
                "about": "market",
                "market_id": market["id"],
                "project_id": pid,
                "text": "建议改造期间保留临时摊位",
                "name": "王小明",
                "phone": "13912345678",
            },
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        [received] = await suggestion_events.wait_for(lambda rec: rec.key == sid.encode())
        suggestion = _parse(received, SuggestionReceived)
        assert suggestion.data.project_id == pid
        [commented] = await campaign_events.wait_for(_upserts(pid, "comment_received"))
        event = _parse(commented, RenovationUpserted)
        assert (event.causationid, event.correlationid) == (suggestion.id, sid)
        assert event.data.actor is None
        [comment] = event.data.consultation.comments
        assert (comment.suggestion_id, comment.answer, event.data.consultation.unanswered) == (
            sid,
            None,
            1,
        )

        # Kafka delivers it again, and an integrator replays it under a new envelope: still one.
        await redeliver(kafka, received)
        replay = suggestion.data.model_copy(update={"version": 1})
        await _produce(kafka, replay)
        await stack.handled()
        await campaign_events.drain(settle_s=0.5)
    assert len([r for r in campaign_events.records if _upserts(pid, "comment_received")(r)]) == 1
    shown = (await api.get(f"/renovations/{pid}", "clerk", district)).json()
    [comment_out] = shown["consultation"]["comments"]
    assert comment_out["suggestion_id"] == sid
    assert comment_out["text"] == "建议改造期间保留临时摊位"
    # The text the event carried; no author, masked or not. The phone is looked for whole or
    # as masked (139****5678): its first digits alone came up in a timestamp's microseconds.
    text = orjson.dumps(shown).decode()
    assert "王" not in text
    assert "13912345678" not in text and "139****5678" not in text
    r = await api.client.get(f"/public/consultations/{pid}")
    assert (r.json()["comments"], r.json()["answered"]) == (1, 0)


async def test_suggestions_outside_the_window_or_without_a_plan_are_ignored(
    stack: Stack, kafka: str
) -> None:
    api = stack.api
    district, market, project = await _plan(stack)
    pid = project["id"]
    r = await api.post(f"/renovations/{pid}/consultation", {"days": 2}, "clerk", district)
    assert r.status_code == 200, r.text
    today_noon = datetime.combine(city_today(), datetime.min.time(), SHANGHAI).replace(hour=12)
    async with TopicWatcher(kafka, CAMPAIGN) as campaign_events:
        # Received the day before it opened, the day after it closed, about another market,
        # naming no project or a project that does not exist: none is a comment.
        for received_at, market_id, project_id in (
            (today_noon - timedelta(days=1), market["id"], pid),
            (today_noon + timedelta(days=2), market["id"], pid),
            (today_noon, "mkt_other", pid),
            (today_noon, market["id"], "rnv_nope"),
        ):
            await _produce(
                kafka, suggestion_received(market_id, project_id, received_at.astimezone(UTC))
            )
        r = await stack.complaints.post(
            "/suggestions",
            json={"about": "market", "market_id": market["id"], "text": "建议增加公平秤"},
        )
        assert r.status_code == 201, r.text
        # The last day counts (received in its last hour, city time).
        last = suggestion_received(
            market["id"], pid, (today_noon + timedelta(days=1, hours=11, minutes=30))
        )
        await _produce(kafka, last)
        await campaign_events.wait_for(_upserts(pid, "comment_received"))
        await stack.handled()
        await campaign_events.drain(settle_s=0.5)
    received = [r for r in campaign_events.records if _upserts(pid, "comment_received")(r)]
    assert len(received) == 1
    comments = _parse(received[0], RenovationUpserted).data.consultation.comments
    assert [c.suggestion_id for c in comments] == [last.suggestion_id]


async def test_construction_waits_for_the_window_and_every_answer(
    stack: Stack, kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = stack.api
    district, market, project = await _plan(stack)
    pid = project["id"]
    r = await api.post(f"/renovations/{pid}/consultation", {"days": 3}, "clerk", district)
    assert r.status_code == 200, r.text
    data = suggestion_received(market["id"], pid, datetime.now(UTC))
    async with TopicWatcher(kafka, CAMPAIGN) as campaign_events:
        await _produce(kafka, data)
        await campaign_events.wait_for(_upserts(pid, "comment_received"))

        # While comments are taken, the plan is not approved.
        r = await api.post(f"/renovations/{pid}/stage", {"stage": "approved"}, "clerk", district)
        assert r.status_code == 409, r.text
        assert r.json()["errors"][0]["field"] == "consultation"
        assert r.json()["consultation"]["unanswered"] == 1

        # Once the window closed it is approved; construction waits for the answer.
        campaigns = api.campaigns
        later = datetime.now(SHANGHAI) + timedelta(days=3)
        monkeypatch.setattr(campaigns, "now", lambda: later)
        r = await api.post(f"/renovations/{pid}/stage", {"stage": "approved"}, "clerk", district)
        assert r.status_code == 200, r.text
        assert r.json()["consultation"]["closed"] is True
        build = {"stage": "under_construction"}
        r = await api.post(f"/renovations/{pid}/stage", build, "clerk", district)
        assert r.status_code == 409, r.text
        assert r.json()["errors"][0]["field"] == "consultation"
        assert (await api.get(f"/renovations/{pid}", "clerk", district)).json()[
            "stage"
        ] == "approved"

        # The answer: recorded with its actor; then construction begins.
        answer = {"answer": "已采纳：施工期间在北侧空地设临时摊位"}
        r = await api.post(
            f"/renovations/{pid}/comments/{data.suggestion_id}/answer", answer, "clerk", district
        )
        assert r.status_code == 200, r.text
        [answered] = r.json()["consultation"]["comments"]
        assert answered["answer"] == answer["answer"] and answered["answered_by"]["subject"]
        assert r.json()["consultation"]["unanswered"] == 0
        r = await api.post(f"/renovations/{pid}/stage", build, "clerk", district)
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == "under_construction"
        [event] = await campaign_events.wait_for(_upserts(pid, "comment_answered"))
        parsed = _parse(event, RenovationUpserted)
        assert parsed.data.consultation.comments[0].answer == answer["answer"]
        assert parsed.data.actor is not None and parsed.data.consultation.unanswered == 0
        # The record is final once built.
        r = await api.post(
            f"/renovations/{pid}/comments/{data.suggestion_id}/answer", answer, "clerk", district
        )
        assert r.status_code == 409


async def test_bad_requests_name_the_field_and_change_nothing(stack: Stack, kafka: str) -> None:
    api = stack.api
    district, market, project = await _plan(stack)
    pid = project["id"]
    async with TopicWatcher(kafka, CAMPAIGN) as campaign_events:
        for body in ({"days": 0}, {"days": 61}, {"days": "7"}, {"days": 1.5}, {}):
            r = await api.post(f"/renovations/{pid}/consultation", body, "clerk", district)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["errors"][0]["field"] == "days", r.text
        # Not the district's, not a clerk's.
        r = await api.post(f"/renovations/{pid}/consultation", {"days": 5}, "clerk", "elsewhere")
        assert r.status_code == 403
        r = await api.post(f"/renovations/{pid}/consultation", {"days": 5}, "inspector", district)
        assert r.status_code == 403
        r = await api.post(
            f"/renovations/{pid}/comments/sug_nope/answer", {"answer": "好"}, "clerk", district
        )
        assert r.status_code == 404
        await campaign_events.drain(settle_s=0.5)
    assert not [
        r
        for r in campaign_events.records
        # (the plan's own `created` may be published after the watcher began)
        if r.json()["subject"] == pid and r.json()["data"].get("change") != "created"
    ]
    shown = (await api.get(f"/renovations/{pid}", "clerk", district)).json()
    assert (shown["consultation"], shown["version"]) == (None, 1)
    assert (await api.client.get(f"/public/consultations/{pid}")).status_code == 404

    # Opened, then answered with nothing: 422 naming the answer. A second window while one is
    # open, or once the plan is approved: 409.
    r = await api.post(f"/renovations/{pid}/consultation", {"days": 5}, "clerk", district)
    assert r.status_code == 200, r.text
    again = await api.post(f"/renovations/{pid}/consultation", {"days": 5}, "clerk", district)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "consultation"
    data = suggestion_received(market["id"], pid, datetime.now(UTC))
    await _produce(kafka, data)

    async def commented() -> bool:
        body = (await api.get(f"/renovations/{pid}", "clerk", district)).json()
        return bool(body["consultation"]["comments"])

    await until(commented, what="the comment attached")
    for body in ({"answer": ""}, {"answer": "x" * 2001}, {}):
        r = await api.post(
            f"/renovations/{pid}/comments/{data.suggestion_id}/answer", body, "clerk", district
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "answer"
    shown = (await api.get(f"/renovations/{pid}", "clerk", district)).json()
    assert shown["consultation"]["unanswered"] == 1

    # The complaints service checks project_id lightly: a string of at most 64 characters.
    r = await stack.complaints.post(
        "/suggestions",
        json={"about": "market", "market_id": market["id"], "project_id": "p" * 65, "text": "好"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "project_id"
