"""The menu and the pages' guards are declared apart (`web.NAV` lists, for each role, the pages
its work needs; each view's `may_see` says who may read it): a role must never be offered a page
whose guard then refuses it."""

from __future__ import annotations

import pytest

from services.console import web
from services.runtime.auth import Principal
from tests.unit.console import support

ROLES = ("clerk", "inspector", "handler", "leader", "department", "operator", "admin")


def _person(role: str) -> Principal:
    district = "*" if role == "admin" else "zhifu"
    market = "mkt_1" if role == "operator" else None
    return Principal("sub-1", role, district, name=f"测试{role}", market_id=market)


@pytest.mark.parametrize("role", ROLES)
async def test_no_menu_entry_leads_a_role_to_a_refusal(role: str) -> None:
    who = _person(role)
    entries = [href for href, _ in web.nav(who)]
    assert entries or role == "operator", f"{role} has an empty menu"
    refused = []
    # Every service answers 404 (support's stub): the guard, not the data, is under test, and a
    # 404 from a service is never shown as a 403.
    async with support.console(None, who) as client:
        for href in entries:
            answer = await client.get(href)
            if answer.status_code == 403:
                refused.append(href)
    assert not refused, f"{role}'s menu offers pages its guard refuses: {refused}"


@pytest.mark.parametrize("role", ROLES)
async def test_every_staff_page_says_its_times_are_beijing_time(role: str) -> None:
    """收到 2026-12-06 12:41, 期限 12-07 12:50: the staff pages' times of day carried no zone."""
    who = _person(role)
    async with support.console(None, who) as client:
        pages = [await client.get(href) for href, _ in [("/staff/", ""), *web.nav(who)]]
    for page in pages:
        assert '<footer class="staff-foot muted" id="time-zone">' in page.text, page.url
        assert "页面中的时间均为北京时间（UTC+8）" in page.text
