"""Signing in to the staff console through the provider's own login page (issue 15), and what
every page of the console must carry: a Content-Security-Policy that allows no inline script,
and cookies that scripts cannot read and other sites cannot send."""

from __future__ import annotations

import re

from playwright.async_api import Page

from tests.browser.support import Console, Shots, sign_in
from tests.support.identity import Tokens

NAME = "李浏览"  # the person's name in the provider: the token's `name` starts with it


async def test_a_person_signs_in_at_the_provider_and_sees_their_name(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    username, _ = tokens.person("inspector", "zhifu", name=NAME, who="browser")
    await sign_in(phone, username, tokens.password, shot)
    await shot(phone, "staff")
    assert NAME in await phone.inner_text("body")
    assert phone.url.startswith(f"{console.url}/staff/")
    # The tab's title is in the pages' language too, as the header is.
    title = await phone.title()
    assert title.endswith("农贸市场提升工作台") and not re.search(r"[A-Za-z]", title), title
    # 退出 is a touch target like any other on a phone (docs/console.md: big touch targets).
    box = await phone.get_by_role("button", name="退出").bounding_box()
    assert box is not None and box["height"] >= 44, box


async def test_the_staff_pages_send_a_stranger_to_the_provider(
    console: Console, page: Page, shot: Shots
) -> None:
    await page.goto("/staff/")
    await page.wait_for_selector("#kc-login")
    await shot(page, "provider-login")
    assert page.url.startswith(f"{console.issuer}/protocol/openid-connect/auth?")
    assert "client_id=sentinel-console" in page.url
    assert "code_challenge_method=S256" in page.url


def script_sources(policy: str) -> list[str]:
    """The sources a Content-Security-Policy allows scripts from (script-src, else
    default-src)."""
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives.get("script-src", directives.get("default-src", ["*"]))


async def test_the_pages_allow_no_inline_script_and_cookies_stay_http_only_and_same_site(
    console: Console, page: Page, tokens: Tokens, shot: Shots
) -> None:
    username, _ = tokens.person("clerk", "zhifu", name="王浏览", who="browser")
    await sign_in(page, username, tokens.password)
    response = await page.goto("/staff/")
    assert response is not None and response.ok
    await shot(page, "staff")
    policy = await response.header_value("content-security-policy")
    assert policy, "no Content-Security-Policy on /staff/"
    sources = script_sources(policy)
    assert "'unsafe-inline'" not in sources and "*" not in sources, policy
    cookies = await page.context.cookies([f"{console.url}/staff/"])
    assert cookies, "signed in without a cookie"
    for cookie in cookies:
        assert cookie["httpOnly"], cookie["name"]
        assert cookie["sameSite"] in ("Lax", "Strict"), cookie


async def test_every_menu_entry_an_admin_sees_opens(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    """The admin's menu lists no page that then refuses it (今日自查 is a market operator's own
    checklist: an admin has no market of its own to tick)."""
    username, _ = tokens.person("admin", "*", name="周管理", who="browser")
    await sign_in(phone, username, tokens.password)
    await shot(phone, "staff")
    menu = phone.locator('nav[aria-label="主菜单"] a')
    hrefs = [h for h in await menu.evaluate_all("links => links.map(a => a.pathname)")]
    assert "/staff/alerts" in hrefs and "/staff/registry" in hrefs, hrefs
    refused = []
    for href in hrefs:
        answer = await phone.goto(href)
        if answer is None or answer.status != 200:
            refused.append((href, answer.status if answer else None))
            await shot(phone, f"refused-{href}")
    assert not refused, refused
