"""告警 (issue 21): Alertmanager's webhook at /hooks/alertmanager — its credential, its payload
checked field by field (a 422 naming the field), the bounded memory of recent notifications —
and the admin's page listing what fires and what was resolved, in Chinese."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploy.local import stack
from services.console import labels
from services.console.alerts import (
    Alert,
    AlertBook,
    AlertmanagerUnavailable,
    Notification,
    PostedAlert,
    Silence,
    acknowledge,
    firing_now,
    silences,
)
from services.runtime.auth import Principal
from tests.unit.console import support

TOKEN = "hook-secret-0123456789abcdef"
# What Alertmanager 0.25's webhook receiver posts (version 4), trimmed to one alert.
FIRING: dict[str, Any] = {
    "receiver": "console",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "SentinelServiceDown",
                "instance": "127.0.0.1:8104",
                "job": "complaints",
                "service": "complaints",
                "severity": "critical",
            },
            "annotations": {
                "summary": "complaints is down",
                "runbook": "docs/operations.md#sentinelservicedown",
            },
            "startsAt": "2026-12-04T06:00:00.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:19090/graph",
            "fingerprint": "a1b2c3",
        }
    ],
    "groupLabels": {"alertname": "SentinelServiceDown", "service": "complaints"},
    "commonLabels": {"alertname": "SentinelServiceDown"},
    "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:19091",
    "version": "4",
    "groupKey": '{}:{alertname="SentinelServiceDown", service="complaints"}',
    "truncatedAlerts": 0,
}


def resolved() -> dict[str, Any]:
    payload = copy.deepcopy(FIRING)
    payload["status"] = payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = "2026-12-04T06:05:00Z"
    return payload


def console(token: str = TOKEN, role: str | None = None, **settings: Any) -> httpx.AsyncClient:
    who = None if role is None else Principal("sub-1", role, "*", name=f"测试{role}")
    return support.console(None, who, alert_webhook_token=token, **settings)


async def post(client: httpx.AsyncClient, body: Any, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/hooks/alertmanager", content=content, headers=headers)


# --- the payload -------------------------------------------------------------------------------
def test_a_notification_becomes_alerts_with_name_service_severity_and_summary() -> None:
    book = AlertBook()
    at = datetime(2026, 12, 4, 6, 0, 5, tzinfo=UTC)
    assert book.record(Notification.model_validate(FIRING), at) == 1
    (alert,) = book.recent()
    assert (alert.name, alert.service, alert.severity) == (
        "SentinelServiceDown",
        "complaints",
        "critical",
    )
    assert alert.summary == "complaints is down"
    assert alert.runbook == "docs/operations.md#sentinelservicedown"
    assert alert.runbook_link is None  # a repository path: the console serves no docs/
    assert alert.starts_at == datetime(2026, 12, 4, 6, 0, 0, 123000, tzinfo=UTC)
    assert alert.ends_at is None  # Alertmanager's 0001-01-01 means "still firing"
    assert alert.received_at == at
    assert book.firing() == [alert]


def test_a_resolved_notification_ends_the_alert_and_both_stay_in_the_history() -> None:
    book = AlertBook()
    book.record(Notification.model_validate(FIRING))
    book.record(Notification.model_validate(resolved()))
    assert [a.status for a in book.recent()] == ["resolved", "firing"]  # newest first
    assert book.recent()[0].ends_at == datetime(2026, 12, 4, 6, 5, tzinfo=UTC)
    assert book.firing() == []


def test_the_service_falls_back_to_the_job_and_the_history_is_bounded() -> None:
    payload = copy.deepcopy(FIRING)
    del payload["alerts"][0]["labels"]["service"]
    book = AlertBook(size=3)
    for n in range(5):
        payload["alerts"][0]["fingerprint"] = f"f{n}"
        book.record(Notification.model_validate(payload))
    assert [a.fingerprint for a in book.recent()] == ["f4", "f3", "f2"]
    assert {a.service for a in book.recent()} == {"complaints"}


# --- the webhook -------------------------------------------------------------------------------
async def test_the_webhook_records_what_alertmanager_posts() -> None:
    async with console() as client:
        r = await post(client, FIRING)
        assert r.status_code == 200, r.text
        assert r.json() == {"recorded": 1}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda p: p["alerts"][0]["labels"].pop("alertname"), "alerts.0.labels.alertname",
         "required"),
        (lambda p: p["alerts"][0].update(status="burning"), "alerts.0.status",
         "'firing' or 'resolved'"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts.0.startsAt", "datetime"),
        (lambda p: p.update(alerts=[]), "alerts", "at least 1"),
        (lambda p: p.update(version="3"), "version", "'4'"),
        (lambda p: p.pop("receiver"), "receiver", "required"),
    ],
)  # fmt: skip
async def test_a_bad_payload_is_refused_naming_the_field(
    change: Any, field: str, reason: str
) -> None:
    payload = copy.deepcopy(FIRING)
    change(payload)
    async with console() as client:
        r = await post(client, payload)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input"
    assert body["errors"][0]["field"] == field
    assert reason in body["errors"][0]["reason"]


async def test_a_body_that_is_not_json_is_refused() -> None:
    async with console() as client:
        r = await post(client, b"{not json")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("sent", [None, "wrong", TOKEN + "x"])
async def test_the_webhook_needs_the_shared_credential(sent: str | None) -> None:
    async with console(role="admin") as client:
        r = await post(client, FIRING, token=sent)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        page = await client.get("/staff/alerts")
    assert "SentinelServiceDown" not in page.text  # nothing was recorded


async def test_a_console_without_a_credential_accepts_no_alert() -> None:
    async with console(token="") as client:
        r = await post(client, FIRING, token="")
        assert r.status_code == 401
        assert "SENTINEL_ALERT_WEBHOOK_TOKEN" in r.json()["message"]
        r = await post(client, FIRING, token="anything")
        assert r.status_code == 401


# --- the page ----------------------------------------------------------------------------------
async def test_the_admin_sees_firing_and_resolved_alerts_in_chinese() -> None:
    async with console(role="admin") as client:
        empty = await client.get("/staff/alerts")
        assert empty.status_code == 200
        assert 'id="no-firing"' in empty.text and 'id="no-recent"' in empty.text
        assert "未配置 Alertmanager" in empty.text
        assert (await post(client, FIRING)).status_code == 200
        page = (await client.get("/staff/alerts")).text
        firing = page.split('id="firing"')[1].split('id="recent"')[0]
        assert "服务不可用" in firing and "SentinelServiceDown" in firing
        assert 'data-service="complaints"' in firing and "complaints is down" in firing
        # The service in the words of its work, with the code the runbook and logs use.
        service = firing.split('class="alert-service"')[1].split("</div>")[0]
        assert service == '>投诉处理</strong> <code class="muted">complaints</code>', service
        assert "严重" in firing and "告警中" in firing
        assert "开始于 12-04 14:00（北京时间）" in firing  # Prometheus and amtool say UTC
        # The runbook alerts.yml gives each alert, as text: the console cannot show docs/.
        runbook = firing.split('class="alert-runbook"')[1].split("</div>")[0]
        assert "处置手册：<code>docs/operations.md#sentinelservicedown</code>" in runbook
        assert (await post(client, resolved())).status_code == 200
        page = (await client.get("/staff/alerts")).text
        assert 'id="no-firing"' in page
        recent = page.split('id="recent"')[1]
        assert recent.count("data-alert=") == 2 and "已恢复" in recent
        assert "恢复于 12-04 14:05 · 通知于" in recent and "（北京时间）" in recent
        home = (await client.get("/staff/")).text
        assert 'href="/staff/alerts"' in home  # in the menu and as a card


async def test_the_page_asks_alertmanager_what_fires_now(monkeypatch: pytest.MonkeyPatch) -> None:
    held = [FIRING["alerts"][0] | {"status": {"state": "active", "silencedBy": []}}]

    def alertmanager(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/alerts"
        assert request.url.params["active"] == "true"
        return httpx.Response(200, json=held)

    alerts = await firing_now("http://am", transport=httpx.MockTransport(alertmanager))
    assert alerts is not None and [(a.name, a.service, a.status, a.runbook) for a in alerts] == [
        ("SentinelServiceDown", "complaints", "firing", "docs/operations.md#sentinelservicedown")
    ]
    assert await firing_now("") is None

    from services.console.views import alerts as view

    async def answered(url: str, **_: Any) -> Any:
        return alerts

    monkeypatch.setattr(view, "firing_now", answered)
    async with console(role="admin", alertmanager_url="http://am") as client:
        page = (await client.get("/staff/alerts")).text
    assert "来源：Alertmanager" in page
    assert 'data-alert="SentinelServiceDown"' in page.split('id="recent"')[0]
    assert 'id="no-recent"' in page  # the webhook told this console nothing yet


async def test_a_runbook_at_a_web_address_is_a_link_and_none_shows_nothing() -> None:
    payload = copy.deepcopy(FIRING)
    second = copy.deepcopy(payload["alerts"][0])
    payload["alerts"][0]["annotations"]["runbook"] = "https://wiki.example.org/ops#down"
    second.update(fingerprint="d4e5f6", annotations={"summary": "no runbook"})
    second["labels"]["alertname"] = "SentinelHttpErrors"
    payload["alerts"].append(second)
    async with console(role="admin") as client:
        assert (await post(client, payload)).status_code == 200
        page = (await client.get("/staff/alerts")).text
    firing = page.split('id="firing"')[1].split('id="recent"')[0]
    items = {re.search(r'data-alert="(\w+)"', li)[1]: li for li in firing.split("<li ")[1:]}
    link = '处置手册：<a href="https://wiki.example.org/ops#down" rel="noopener noreferrer">'
    assert link in items["SentinelServiceDown"]
    assert "处置手册" not in items["SentinelHttpErrors"]


async def test_an_unreachable_alertmanager_leaves_the_webhooks_word() -> None:
    async with console(role="admin", alertmanager_url="http://127.0.0.1:9") as client:
        await post(client, FIRING)
        page = (await client.get("/staff/alerts")).text
    assert "Alertmanager 暂时无法连接" in page
    assert 'data-alert="SentinelServiceDown"' in page.split('id="recent"')[0]


@pytest.mark.parametrize("role", ["leader", "inspector", "clerk"])
async def test_only_the_admin_sees_the_alerts(role: str) -> None:
    async with console(role=role) as client:
        await post(client, FIRING)
        r = await client.get("/staff/alerts")
        assert r.status_code == 403
        assert "SentinelServiceDown" not in r.text
        assert 'href="/staff/alerts"' not in r.text  # not in the menu either


# --- acknowledging: a silence in Alertmanager ----------------------------------------------------
async def test_an_acknowledgement_silences_the_alert_by_name_and_service_for_its_hours() -> None:
    sent: list[httpx.Request] = []

    def alertmanager(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"silenceID": "sil-1"})

    now = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    silence_id = await acknowledge(
        "http://am/",
        ("SentinelServiceDown", "complaints"),
        2,
        by="王运维",
        note="按处置手册重启中",
        now=now,
        transport=httpx.MockTransport(alertmanager),
    )
    assert silence_id == "sil-1"
    (request,) = sent
    assert (request.method, request.url.path) == ("POST", "/api/v2/silences")
    body = json.loads(request.content)
    assert body["matchers"] == [
        {"name": "alertname", "value": "SentinelServiceDown", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "complaints", "isRegex": False, "isEqual": True},
    ]
    assert datetime.fromisoformat(body["startsAt"]) == now
    assert datetime.fromisoformat(body["endsAt"]) == now + timedelta(hours=2)
    assert (body["createdBy"], body["comment"]) == ("王运维", "按处置手册重启中")


async def test_only_active_silences_on_an_alert_name_are_acknowledgements() -> None:
    def matcher(name: str, value: str, regex: bool = False) -> dict[str, Any]:
        return {"name": name, "value": value, "isRegex": regex, "isEqual": True}

    listed = [
        {"id": "s-active", "status": {"state": "active"}, "createdBy": "王运维",
         "comment": "重启中", "endsAt": "2026-12-04T08:00:00Z",
         "matchers": [matcher("alertname", "SentinelServiceDown"), matcher("service", "credit")]},
        {"id": "s-expired", "status": {"state": "expired"}, "createdBy": "x", "comment": "",
         "endsAt": "2026-12-04T05:00:00Z", "matchers": [matcher("alertname", "SentinelLag")]},
        {"id": "s-regex", "status": {"state": "active"}, "createdBy": "x", "comment": "",
         "endsAt": "2026-12-04T09:00:00Z", "matchers": [matcher("alertname", "Sentinel.*", True)]},
    ]  # fmt: skip

    def alertmanager(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("GET", "/api/v2/silences")
        return httpx.Response(200, json=listed)

    found = await silences("http://am", transport=httpx.MockTransport(alertmanager))
    assert found == [
        Silence(
            "s-active",
            "SentinelServiceDown",
            "credit",
            "王运维",
            "重启中",
            datetime(2026, 12, 4, 8, 0, tzinfo=UTC),
        )
    ]
    assert await silences("") is None


async def test_an_acknowledgement_without_hours_or_alertmanager_is_said_beside_its_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.console.views import alerts as view

    held = [Alert.of(PostedAlert.model_validate(FIRING["alerts"][0]))]
    calls: list[Any] = []

    async def answered(url: str, **_: Any) -> Any:
        return held

    async def no_silences(url: str, **_: Any) -> Any:
        return []

    async def unreachable(*args: Any, **kwargs: Any) -> str:
        calls.append((args, kwargs))
        raise AlertmanagerUnavailable("connection refused")

    monkeypatch.setattr(view, "firing_now", answered)
    monkeypatch.setattr(view, "silences", no_silences)
    monkeypatch.setattr(view, "acknowledge", unreachable)
    form = {
        "name": "SentinelServiceDown",
        "service": "complaints",
        "fingerprint": "a1b2c3",
        "note": "重启中",
    }
    async with console(role="admin", alertmanager_url="http://am") as client:
        no_hours = await client.post("/staff/alerts/acknowledge", data=form | {"hours": "3"})
        down = await client.post("/staff/alerts/acknowledge", data=form | {"hours": "2"})
    assert no_hours.status_code == 422 and "请选择静默时长" in no_hours.text
    assert calls and len(calls) == 1  # the refused one never reached Alertmanager
    assert down.status_code == 503 and "Alertmanager 暂时无法连接" in down.text
    kept = down.text.split('id="ack-a1b2c3"')[1].split("</details>")[0]
    assert " open" in down.text.split('id="ack-a1b2c3"')[1][:40]
    assert 'value="重启中"' in kept and '<option value="2" selected>' in kept


# --- an acknowledged alert that fires again ----------------------------------------------------
SILENCE = {
    "id": "sil-1",
    "status": {"state": "active"},
    "createdBy": "王运维",
    "comment": "按处置手册重启 credit",
    "endsAt": "2026-12-04T08:00:00Z",
    "matchers": [
        {"name": "alertname", "value": "SentinelServiceDown", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "credit", "isRegex": False, "isEqual": True},
    ],
}


def stub_alertmanager(
    monkeypatch: pytest.MonkeyPatch, held: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The view's calls answered as Alertmanager's API v2 answers them: `GET /api/v2/alerts`
    leaves out silenced alerts unless asked for them (`silenced=true`)."""
    from services.console import alerts as module
    from services.console.views import alerts as view

    def alertmanager(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/silences":
            return httpx.Response(200, json=[SILENCE])
        assert request.url.path == "/api/v2/alerts"
        wanted = request.url.params.get("silenced", "true") == "true"
        return httpx.Response(
            200, json=[a for a in held if wanted or not a["status"]["silencedBy"]]
        )

    transport = httpx.MockTransport(alertmanager)

    async def firing_now(url: str, **kwargs: Any) -> Any:
        return await module.firing_now(url, transport=transport, **kwargs)

    async def silences(url: str, **kwargs: Any) -> Any:
        return await module.silences(url, transport=transport, **kwargs)

    monkeypatch.setattr(view, "firing_now", firing_now)
    monkeypatch.setattr(view, "silences", silences)
    return held


def credit_down(starts: str, silenced_by: list[str]) -> dict[str, Any]:
    alert = copy.deepcopy(FIRING["alerts"][0])
    alert["labels"].update(job="credit", service="credit")
    alert["annotations"]["summary_zh"] = "credit 服务不可用"
    alert.update(
        startsAt=starts,
        fingerprint="c0ffee",
        status={"state": "suppressed" if silenced_by else "active", "silencedBy": silenced_by},
    )
    return alert


async def test_an_acknowledged_alert_firing_again_is_shown_still_firing_then_recovered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """credit killed, acknowledged, restarted, killed again within the silence: Alertmanager
    holds it firing but silenced. The page says so under 已确认 (and beside the empty 正在告警);
    once it resolves, the entry says 已恢复 with when it was last seen firing."""
    from services.console import clock

    held = stub_alertmanager(monkeypatch, [credit_down("2026-12-04T06:40:00Z", ["sil-1"])])
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 4, 6, 42, tzinfo=UTC))
    async with console(role="admin", alertmanager_url="http://am") as client:
        page = (await client.get("/staff/alerts")).text
        firing = page.split('id="firing"')[1].split('id="acknowledged"')[0]
        assert "data-alert=" not in firing.split("</ul>")[0]  # nobody is notified of it
        assert "已确认的告警中有 <strong" in page
        entry = page.split('id="acknowledged"')[1].split("</li>")[0]
        assert 'data-silence="sil-1"' in entry and 'data-status="firing"' in entry
        assert "仍在告警" in entry and "自 12-04 14:40 起（北京时间）" in entry
        assert "credit 服务不可用" in entry and "按处置手册重启 credit" in entry
        # Acknowledged is when the runbook is followed: it stays beside the alert (the walk on
        # the demo found it only in 最近通知, below).
        assert "处置手册：<code>docs/operations.md#sentinelservicedown</code>" in entry

        from services.console.views import alerts as view

        async def unreachable(url: str, **_: Any) -> None:
            return None

        with monkeypatch.context() as down:  # a moment without Alertmanager forgets nothing
            down.setattr(view, "firing_now", unreachable)
            assert "Alertmanager 暂时无法连接" in (await client.get("/staff/alerts")).text

        held.clear()  # restarted: Alertmanager drops the resolved silenced alert, posting nothing
        monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 4, 6, 50, tzinfo=UTC))
        page = (await client.get("/staff/alerts")).text
    entry = page.split('id="acknowledged"')[1].split("</li>")[0]
    assert 'data-status="resolved"' in entry and "已恢复" in entry and "仍在告警" not in entry
    assert "最后一次见到它告警于 12-04 14:42（北京时间）" in entry


async def test_a_firing_notification_alertmanager_no_longer_holds_is_said_to_be_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alertmanager posts no resolution of an alert silenced when it ends: 最近通知 would keep
    it 告警中 for ever."""
    stub_alertmanager(monkeypatch, [])
    async with console(role="admin", alertmanager_url="http://am") as client:
        await post(client, FIRING)
        page = (await client.get("/staff/alerts")).text
    recent = page.split('id="recent"')[1]
    assert "告警中" in recent and "Alertmanager 已不再告警" in recent


async def test_each_of_several_alerts_of_one_name_and_service_has_its_own_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Six stalled partitions: six forms, each with an id of its own (htmx keeps what is typed
    in one across the refresh by its id), each saying it acknowledges all six."""
    stalled = []
    for partition in range(6):
        alert = copy.deepcopy(FIRING["alerts"][0])
        alert["labels"] = {
            "alertname": "SentinelConsumerStalled",
            "job": "telemetry",
            "service": "telemetry",
            "severity": "critical",
            "topic": "telemetry.readings.v1",
            "partition": str(partition),
        }
        alert.update(fingerprint=f"fp{partition}", status={"state": "active", "silencedBy": []})
        stalled.append(alert)
    stub_alertmanager(monkeypatch, stalled)
    async with console(role="admin", alertmanager_url="http://am") as client:
        page = (await client.get("/staff/alerts")).text
    ids = re.findall(r'id="([^"]+)"', page)
    duplicated = {i for i in ids if ids.count(i) > 1}
    assert not duplicated, duplicated
    assert page.count('<details id="ack-fp') == 6
    assert page.count("将同时确认实时监测服务的全部 6 条同名告警") == 6


async def test_the_page_shows_the_chinese_summary_and_the_runbooks_first_steps() -> None:
    """alerts.yml's `summary_zh` and `runbook_zh`; the English summary is for e-mail and logs."""
    payload = copy.deepcopy(FIRING)
    payload["alerts"][0]["annotations"].update(
        summary_zh="complaints 服务不可用：Prometheus 一分钟内无法获取其指标",
        runbook_zh="用 make status 查看进程，用 make demo 重启缺失的服务。",
    )
    async with console(role="admin") as client:
        assert (await post(client, payload)).status_code == 200
        page = (await client.get("/staff/alerts")).text
    firing = page.split('id="firing"')[1].split('id="recent"')[0]
    assert "complaints 服务不可用：Prometheus 一分钟内无法获取其指标" in firing
    assert "complaints is down" not in firing
    assert "处置要点：用 make status 查看进程，用 make demo 重启缺失的服务。" in firing
    assert "处置手册：<code>docs/operations.md#sentinelservicedown</code>" in firing


async def test_the_admins_alerts_card_comes_first_while_something_fires() -> None:
    """Last of the admin's 15 cards it was some 2000 px down a phone's home page."""

    def cards(home: str) -> list[str]:
        listed = home.split('<ul class="cards">')[1].split("</ul>")[0]
        return re.findall(r'class="card-link" href="([^"]+)"', listed)

    async with console(role="admin") as client:
        quiet = cards((await client.get("/staff/")).text)
        assert (await post(client, FIRING)).status_code == 200
        firing = cards((await client.get("/staff/")).text)
    assert len(quiet) > 1 and quiet[-1] == "/staff/alerts"
    assert firing[0] == "/staff/alerts" and firing.count("/staff/alerts") == 1


async def test_the_alerts_card_counts_an_acknowledged_alert_still_firing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The card counted only what nobody had acknowledged: with credit acknowledged but down and
    telemetry down it said one, and with credit alone it said nothing was wrong at all."""
    from services.console import alerts as module
    from services.console.views import home

    telemetry = copy.deepcopy(FIRING["alerts"][0])
    telemetry.update(fingerprint="fp-t", status={"state": "active", "silencedBy": []})
    held = stub_alertmanager(
        monkeypatch, [credit_down("2026-12-04T06:40:00Z", ["sil-1"]), telemetry]
    )
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            200,
            json=[
                a
                for a in held
                if r.url.params.get("silenced") == "true" or not a["status"]["silencedBy"]
            ],
        )
    )

    async def firing_now(url: str, **kwargs: Any) -> Any:
        return await module.firing_now(url, transport=transport, **kwargs)

    monkeypatch.setattr(home, "firing_now", firing_now)

    def card(page: str) -> str:
        listed = page.split('<ul class="cards">')[1].split("</ul>")[0]
        return listed.split("</li>")[0]

    async with console(role="admin", alertmanager_url="http://am") as client:
        both = card((await client.get("/staff/")).text)
        held.remove(telemetry)
        acknowledged_only = card((await client.get("/staff/")).text)
    assert 'href="/staff/alerts"' in both and "2 项正在告警，其中 1 项已确认" in both
    assert 'href="/staff/alerts"' in acknowledged_only  # still first: something fires
    assert "1 项正在告警，其中 1 项已确认" in acknowledged_only
    assert '<span class="count alert">1</span>' in acknowledged_only  # still highlighted


def test_every_service_an_alert_can_name_has_a_chinese_name() -> None:
    named = set(labels.SERVICE)
    assert set(stack.SERVICE_PORTS) | {"console"} <= named, set(stack.SERVICE_PORTS) - named
