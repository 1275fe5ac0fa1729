"""本月预览 on the staff 红黑榜 page, in process against a scripted credit service: this month so
far, asked of credit's preview, said to be unpublished; the lists drawn stay the default view."""

from __future__ import annotations

from typing import Any

import httpx

from services.runtime.auth import Principal
from tests.unit.console import support
from tests.unit.console.test_joint_and_honours import HONOURS

PREVIEW = {
    **{k: v for k, v in HONOURS.items() if k not in ("drawing_id", "drawn_at")},
    "month": "2026-12",
    "district": "zhifu",
    "as_of": "2026-12-06T02:00:00+00:00",
}
LEADER = Principal("sub-1", "leader", "zhifu", name="周领导")
ADMIN = Principal("sub-9", "admin", "*", name="管理员")


class Credit:
    """The credit and registry calls of the page, each asked path kept in `asked`."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.asked.append((path, dict(request.url.params)))
        if path == "/honours/preview":
            return httpx.Response(200, json=PREVIEW)
        if path == "/honours":
            return httpx.Response(200, json=HONOURS)
        if path == "/districts":
            return httpx.Response(200, json=[{"code": "zhifu", "name": "芝罘区"}])
        return httpx.Response(404, json={"error": "not_found", "message": "none"})


async def page(who: Principal, query: str) -> tuple[Credit, str]:
    services = Credit()
    async with support.console(services, who) as client:
        r = await client.get(f"/staff/honours{query}")
    assert r.status_code == 200, r.text
    return services, r.text


async def test_the_preview_is_this_month_so_far_and_says_it_is_not_published() -> None:
    services, text = await page(LEADER, "?view=preview")
    assert ("/honours/preview", {}) in services.asked
    assert not any(path == "/honours" for path, _ in services.asked)
    assert "2026 年 12 月 · 预览" in text
    assert "尚未公布" in text and 'id="as-of">截至 2026-12-06 10:00' in text
    assert "老王鲜肉" in text and "2025-11 至 2026-04 检查发现严重问题 2 次" in text
    assert 'aria-current="page">本月预览<' in text
    assert 'id="month-picker"' not in text  # a preview has no month to pick


async def test_the_lists_drawn_stay_the_default_and_the_admin_draws_there_only() -> None:
    services, text = await page(ADMIN, "")
    assert any(path == "/honours" for path, _ in services.asked)
    assert 'aria-current="page">已公布<' in text and 'id="draw"' in text
    assert "尚未公布" not in text
    _, preview = await page(ADMIN, "?view=preview")
    assert 'id="draw"' not in preview


async def test_a_city_wide_reader_narrows_the_preview_to_a_district() -> None:
    services, text = await page(ADMIN, "?view=preview&district=zhifu")
    assert ("/honours/preview", {"district": "zhifu"}) in services.asked
    assert 'id="preview-district"' in text and '<option value="zhifu" selected>' in text


async def test_a_preview_credit_refuses_says_why_in_chinese() -> None:
    def refusing(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/honours/preview":
            body: dict[str, Any] = {
                "error": "conflict",
                "message": "policy 2026-01, in force now, has no honour rules",
            }
            return httpx.Response(409, json=body)
        return httpx.Response(200, json=[])

    async with support.console(refusing, LEADER) as client:
        r = await client.get("/staff/honours?view=preview")
    assert r.status_code == 200
    assert 'id="problem">该月没有适用的红黑榜规则<' in r.text
