"""The staff menu (docs/console.md, "Principles"): on a 375 px phone one row that scrolls
sideways, with the page's own entry brought into view and every entry still a tap away, so a
leader's 15 entries no longer push the page below the fold; on a desk-wide screen it wraps and
hides nothing. The citizens' five entries stay in view on a phone."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import Page

from services.console.web import nav
from services.runtime.auth import Principal
from tests.browser.conftest import Pages
from tests.browser.support import Console, Shots, sign_in
from tests.support.identity import Tokens

# A leader's menu: every entry the console offers the role.
LEADERS_ENTRIES = len(nav(Principal("u", "leader", "d", roles=frozenset({"leader"}))))

# Where the menu's entries stand, measured in the page: the rows they take (their distinct tops),
# the menu's visible box and scroll, the page's own entry's box and the page's vertical scroll.
MENU_JS = """(selector) => {
  const menu = document.querySelector(selector);
  const box = menu.getBoundingClientRect();
  const links = [...menu.querySelectorAll('a')];
  const tops = new Set(links.map(a => Math.round(a.getBoundingClientRect().top)));
  const current = menu.querySelector('[aria-current="page"]');
  const own = current && current.getBoundingClientRect();
  const shown = links.filter(a => {
    const r = a.getBoundingClientRect();
    return r.left >= box.left - 1 && r.right <= box.right + 1;
  }).map(a => a.textContent.trim());
  return {
    entries: links.length, rows: tops.size, shown,
    scrolls: menu.scrollWidth > menu.clientWidth, height: box.height,
    left: box.left, right: box.right,
    own: own && {left: own.left, right: own.right, text: current.textContent.trim()},
    pageScrollY: window.scrollY, viewport: window.innerWidth,
  };
}"""


async def menu(page: Page, selector: str = 'nav[aria-label="主菜单"]') -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate(MENU_JS, selector)
    return found


async def a_leaders_renovations(page: Page, tokens: Tokens, shot: Shots) -> dict[str, Any]:
    """A leader signed in on `page` opens 改造项目, far along the leader's menu: its menu."""
    username, _ = tokens.person("leader", f"t{uuid.uuid4().hex[:7]}", name="周领导", who="menu")
    await sign_in(page, username, tokens.password)
    answer = await page.goto("/staff/renovations")
    assert answer is not None and answer.status == 200
    await shot(page, "renovations")
    return await menu(page)


async def test_a_leaders_menu_is_one_row_on_a_phone_with_the_pages_entry_in_view(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    # 改造项目 is far along the leader's entries: beyond the phone's width in the menu's row.
    found = await a_leaders_renovations(phone, tokens, shot)
    assert found["entries"] == LEADERS_ENTRIES >= 14 and found["rows"] == 1, found
    assert found["height"] < 60, found  # one 44 px row, not four
    assert found["scrolls"], found
    own = found["own"]
    assert own["text"] == "改造项目", found
    assert own["left"] >= found["left"] and own["right"] <= found["right"], found
    assert "检查任务" not in found["shown"], found  # the first entry lies off to the left
    assert found["pageScrollY"] == 0, found  # bringing the entry in view moved the menu only

    # An entry out of view is still a tap away.
    await phone.locator('nav a[href="/staff/tasks"]').click()
    await phone.wait_for_url("**/staff/tasks")
    await shot(phone, "tasks")
    found = await menu(phone)
    assert found["own"]["text"] == "检查任务" and "检查任务" in found["shown"], found


async def test_on_a_wide_screen_the_menu_wraps_and_hides_nothing(
    console: Console, page: Page, tokens: Tokens, shot: Shots
) -> None:
    found = await a_leaders_renovations(page, tokens, shot)
    assert found["entries"] == LEADERS_ENTRIES and not found["scrolls"], found
    assert len(found["shown"]) == LEADERS_ENTRIES, found


async def test_the_citizens_menu_keeps_its_five_entries_in_view_on_a_phone(
    console: Console, open_page: Pages, shot: Shots
) -> None:
    phone = await open_page(phone=True)
    answer = await phone.goto("/markets")
    assert answer is not None and answer.status == 200
    await shot(phone, "markets")
    found = await menu(phone, 'nav[aria-label="市民服务"]')
    assert found["entries"] == 5 and not found["scrolls"], found
    assert len(found["shown"]) == 5, found
