"""A send the service does not take leaves the person on their page (docs/console.md: a form
survives a weak network; the page says so and keeps what was typed): a complaint's 不予受理 when the
complaints service fails, a 复查 refused or unanswered, a risk's 确认 from its own page. Each answer
is the form's page with the reason beside the action, what was typed still in its field, and nothing
sent again."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from services.runtime.auth import Principal
from tests.unit.console import support

Answer = Callable[[httpx.Request], httpx.Response | None]
CASE = {
    "id": "cmp_1", "state": "received", "category": "short_weight", "channel": "hotline_12345",
    "market_id": "mkt_1", "stall_no": "C-3", "facts": "缺斤短两", "request": "退款",
    "received_at": "2026-05-04T01:00:00+00:00",
    "acceptance_deadline": "2026-05-13T15:59:59+00:00", "mediation_deadline": None,
    "running_clock": "acceptance", "current_deadline": "2026-05-13T15:59:59+00:00",
    "working_days_left": 5, "nearing": False,
}  # fmt: skip
ORDER = {
    "rectification_id": "rct_1", "task_id": "tsk_1", "market_id": "mkt_1", "stall_no": "C-3",
    "severity": "major", "deadline": "2026-05-13T15:59:59+00:00", "findings": [],
    "state": "open",
}  # fmt: skip
RISK = {
    "id": "rsk_1", "rule": "cold_chain_excursion", "severity": "major", "state": "open",
    "market_id": "mkt_1", "raised_at": "2026-05-04T01:00:00+00:00", "evidence": {},
}  # fmt: skip


def console(role: str, answer: Answer, posted: list[httpx.Request]) -> httpx.AsyncClient:
    """The console signed in as a `role` of district zhifu, in front of services that answer
    with `answer` (404 where it gives None); every POST to a service is kept in `posted`."""

    def services(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append(request)
        return answer(request) or httpx.Response(404, json={"error": "not_found"})

    return support.console(services, Principal("sub-1", role, "zhifu", name="赵一"))


def down(request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, json={"error": "internal", "message": "boom"})


def field_error(page: str) -> str:
    found = re.findall(r'<[^>]*class="field-error"[^>]*>([^<]*)<', page)
    assert found, "no error beside a field"
    return found[0]


async def test_a_reject_the_complaints_service_fails_keeps_the_reason_beside_the_button() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return down(request)
        if request.url.path == "/complaints/cmp_1":
            return httpx.Response(200, json=CASE)
        return None

    posted: list[httpx.Request] = []
    async with console("handler", answer, posted) as client:
        r = await client.post("/staff/complaints/cmp_1/reject", data={"reason": "已和解，撤诉"})
    assert r.status_code == 503
    assert "已和解，撤诉</textarea>" in r.text  # what was typed, in its field
    assert field_error(r.text) == "服务出错，请稍后再试"
    assert [p.url.path for p in posted] == ["/complaints/cmp_1/reject"]  # sent once


@pytest.mark.parametrize(
    ("verified", "status"),
    [
        (httpx.Response(409, json={"error": "conflict", "message": "rct_1 is verified"}), 409),
        (httpx.Response(500, json={"error": "internal", "message": "boom"}), 503),
    ],
)
async def test_a_re_inspection_refused_or_unanswered_is_said_beside_its_order(
    verified: httpx.Response, status: int
) -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return verified
        if request.url.path == "/rectifications":
            return httpx.Response(200, json={"items": [ORDER]})
        return None

    posted: list[httpx.Request] = []
    async with console("inspector", answer, posted) as client:
        r = await client.post("/staff/rectifications/rct_1/verify", data={"passed": "true"})
    assert r.status_code == status
    order = r.text[r.text.index('id="r-rct_1"') :]
    assert field_error(order)  # beside this order's buttons, the list still shown
    assert [p.url.path for p in posted] == ["/rectifications/rct_1/verify"]


async def test_a_risk_confirmed_from_its_page_keeps_the_note_when_telemetry_fails() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST":
            return down(request)
        if request.url.path == "/risks/rsk_1":
            return httpx.Response(200, json=RISK)
        return None

    posted: list[httpx.Request] = []
    async with console("inspector", answer, posted) as client:
        r = await client.post(
            "/staff/risks/rsk_1/acknowledge",
            data={"note": "已电话通知摊主关门", "back": "/staff/risks/rsk_1"},
        )
    assert r.status_code == 503
    assert 'value="已电话通知摊主关门"' in r.text
    assert field_error(r.text) == "服务出错，请稍后再试"
    assert [p.url.path for p in posted] == ["/risks/rsk_1/acknowledge"]
