"""A citizen's complaint or suggestion form is told of every problem at once, each beside its
field: what the form finds itself (a field left blank) and what only the complaints service can
tell (a malformed phone) stand together, not on the next try. The portal runs in process, its
services answered by a stub."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from services.console.app import build
from services.console.labels import PHONE_TAKEN, field_reason_zh
from services.console.settings import ConsoleSettings
from tests.unit.console.portal_answers import ANSWERS

PATTERN = "String should match pattern '^(1[3-9]\\\\d{9}|0\\\\d{2,3}-?\\\\d{7,8})$'"


def refusal(*errors: tuple[str, str]) -> dict[str, Any]:
    return {
        "error": "invalid_input",
        "message": "; ".join(f"{f}: {r}" for f, r in errors),
        "errors": [{"field": f, "reason": r} for f, r in errors],
    }


def portal(answer: httpx.Response, sent: list[Any]) -> httpx.AsyncClient:
    def stub(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.append(json.loads(request.content))
            return answer
        body = ANSWERS.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=body)

    app = build(
        ConsoleSettings(
            oidc_issuer="http://idp.invalid/realms/x",
            session_secret="s" * 32,
            **{f"{s}_url": f"http://{s}" for s in ("registry", "campaign", "credit", "complaints")},
        ),
        httpx.MockTransport(stub),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def _submit(http: httpx.AsyncClient, page: str, form: dict[str, str]) -> httpx.Response:
    token = re.search(r'name="csrf" value="([^"]+)"', (await http.get(page)).text)
    assert token
    return await http.post(page, data={**form, "csrf": token.group(1)})


def beside(html: str, field: str) -> str | None:
    found = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html)
    return found.group(1).strip() if found else None


COMPLAINT = {"market_id": "mkt_1", "category": "price", "request": "退款", "name": "张三"}


async def test_a_blank_fact_and_a_malformed_phone_stand_beside_their_fields_at_once() -> None:
    sent: list[Any] = []
    answer = refusal(("complainant.phone", PATTERN), ("facts", "must not be blank"))
    async with portal(httpx.Response(422, json=answer), sent) as http:
        r = await _submit(http, "/complaints/new", {**COMPLAINT, "facts": "", "phone": "12345"})
    assert r.status_code == 422
    assert beside(r.text, "facts") == "必填"
    # What a phone it takes, not 格式不正确 (found filing a complaint on a phone at 375 px).
    assert beside(r.text, "phone") == "请填写 11 位手机号码，或带区号的固定电话（如 0535-1234567）"
    assert [b["complainant"]["phone"] for b in sent] == ["12345"]


async def test_a_form_refused_only_for_what_it_found_reads_as_before() -> None:
    # The service, down, could not tell the rest: what the form found, as it always read.
    sent: list[Any] = []
    async with portal(httpx.Response(503, json={"error": "unavailable"}), sent) as http:
        r = await _submit(http, "/complaints/new", {**COMPLAINT, "facts": "", "phone": "12345"})
    assert r.status_code == 422
    assert beside(r.text, "facts") == "必填" and beside(r.text, "phone") is None


async def test_a_suggestions_blank_text_and_malformed_phone_stand_beside_their_fields() -> None:
    sent: list[Any] = []
    answer = refusal(("text", "must not be blank"), ("phone", PATTERN))
    async with portal(httpx.Response(422, json=answer), sent) as http:
        form = {"about": "market", "market_id": "mkt_1", "text": "", "phone": "12345"}
        r = await _submit(http, "/suggestions/new", form)
    assert r.status_code == 422
    assert beside(r.text, "text") == "必填"
    assert beside(r.text, "phone") == "请填写 11 位手机号码，或带区号的固定电话（如 0535-1234567）"


def test_the_domains_own_words_for_a_phone_read_the_same() -> None:
    said = (
        "must be a mainland mobile number (11 digits starting 13-19) "
        "or a landline with its area code, e.g. 0535-1234567"
    )
    assert field_reason_zh("complainant.phone", said) == PHONE_TAKEN
    assert field_reason_zh("phone", PATTERN) == PHONE_TAKEN
    assert field_reason_zh("code", PATTERN) == "格式不正确"  # another field's pattern as before


# -- 发生时间: when it happened, optional --------------------------------------------------------
FILED = httpx.Response(201, json={"id": "cmp_1", "tracking_code": "ABCD2345EF"})


async def test_when_it_happened_is_sent_as_the_citys_time() -> None:
    sent: list[Any] = []
    form = {**COMPLAINT, "facts": "短秤", "phone": "13800000000", "occurred_at": "2026-05-06T10:30"}
    async with portal(FILED, sent) as http:
        r = await _submit(http, "/complaints/new", form)
    assert r.status_code == 303, r.text
    assert [b["occurred_at"] for b in sent] == ["2026-05-06T10:30:00+08:00"]
    async with portal(FILED, sent := []) as http:
        r = await _submit(http, "/complaints/new", {**form, "occurred_at": ""})
    assert r.status_code == 303 and "occurred_at" not in sent[0]
    async with portal(FILED, []) as http:
        page = (await http.get("/complaints/new")).text
    picker = re.search(r'<input type="datetime-local" id="occurred_at"[^>]*max="([^"]+)"', page)
    assert picker and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", picker[1])


async def test_a_time_in_the_future_or_unreadable_is_refused_beside_it_with_the_rest() -> None:
    sent: list[Any] = []
    answer = refusal(("occurred_at", "must not be in the future"), ("facts", "must not be blank"))
    form = {**COMPLAINT, "facts": "", "phone": "13800000000", "occurred_at": "2099-01-01T08:00"}
    async with portal(httpx.Response(422, json=answer), sent) as http:
        r = await _submit(http, "/complaints/new", form)
    assert r.status_code == 422
    assert beside(r.text, "occurred_at") == "不能晚于当前时间" and beside(r.text, "facts") == "必填"
    assert 'value="2099-01-01T08:00"' in r.text  # what was picked is kept
    # A browser without the picker sends what was typed: the form says what it wants, and the
    # service, sent it as typed, refuses the whole filing (nothing is filed).
    answer = refusal(("occurred_at", "Input should be a valid datetime"))
    async with portal(httpx.Response(422, json=answer), sent := []) as http:
        r = await _submit(http, "/complaints/new", {**form, "facts": "短秤", "occurred_at": "昨天"})
    assert r.status_code == 422 and [b["occurred_at"] for b in sent] == ["昨天"]
    assert beside(r.text, "occurred_at") == "请选择发生的日期和时间"
