"""A clerk typing a merchant's 统一社会信用代码 is told, beside the field, where that code is
registered already: credit counts every registration of one code as one business (信用主体), so
the new registration carries the record (services/console/views/registry.py)."""

from __future__ import annotations

import json

import httpx

from tests.unit.console.test_objection_pages import console, person

CODE = "91440300192203821X"
CHECK = "/staff/registry/markets/mkt_1/merchants/check"
FORM = {"csrf": "x", "name": "张记冻品", "stall_no": "A-09", "credit_code": CODE}


def validate(found: list[dict[str, object]]) -> object:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/merchants/validate":
            body = {"ok": True} | ({"same_credit_code": found} if found else {})
            return httpx.Response(200, json=body)
        return None

    return answer


async def test_a_code_registered_before_is_named_with_its_market_stall_and_status() -> None:
    asked: list[httpx.Request] = []
    found = [
        {"merchant_id": "mer_old", "market_id": "mkt_2", "market_name": "幸福农贸市场",
         "district": "zhifu", "stall_no": "A-03", "status": "left", "left_on": "2026-11-20"},
        {"merchant_id": "mer_2", "market_id": "mkt_3", "market_name": "只楚果蔬批发市场",
         "district": "zhifu", "stall_no": "B-01", "status": "active", "left_on": None},
    ]  # fmt: skip
    headers = {"hx-request": "true", "hx-trigger-name": "credit_code"}
    async with console(person("clerk"), asked, validate(found)) as client:
        r = await client.post(CHECK, data=FORM, headers=headers)
    assert r.status_code == 200
    assert 'id="err-credit_code"' in r.text and 'class="field-note"' in r.text
    assert "幸福农贸市场 A-03 摊位（已于 2026-11-20 退出）" in r.text
    assert "只楚果蔬批发市场 B-01 摊位（正常经营）" in r.text
    assert "新登记沿用其信用分" in r.text
    [sent] = [q for q in asked if q.url.path == "/merchants/validate"]
    assert json.loads(sent.content)["credit_code"] == CODE


async def test_a_code_never_registered_says_nothing() -> None:
    asked: list[httpx.Request] = []
    async with console(person("clerk"), asked, validate([])) as client:
        fresh = await client.post(
            CHECK, data=FORM, headers={"hx-request": "true", "hx-trigger-name": "credit_code"}
        )
    assert fresh.status_code == 200 and "field-note" not in fresh.text
    assert "已登记" not in fresh.text
