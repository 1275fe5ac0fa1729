"""A department member's staff home opens on what is due (docs/console.md, Pages, `/staff/`): on
a phone, their own department's 议定事项 of the joint meeting (their token's `department`, from
the identity provider), the late one first, in red with its deadline, then the one due later;
another department's item is not theirs and not listed. Its 办结 button leads to the item on the
meeting's page, where it is reported done and leaves the home's 待办; the other department's
item there offers them no 办结. Their district's markets are named on the home and linked to
their pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from playwright.async_api import Page

from tests.browser.support import CITY_TZ, Console, Shots, meeting_recorded, sign_in, small_targets
from tests.support.identity import Tokens

LATE = "一周内完成全区冷链设施排查"
LATER = "月底前完成市场公示栏更新"
OTHERS = "两周内完成市场周边环境整治"


def city_today() -> date:
    return datetime.now(CITY_TZ).date()


async def test_a_department_member_opens_on_their_late_item_and_reports_it_done_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    today = city_today()
    held = today - timedelta(days=20)
    late_by = 10  # due 10 days after the meeting: 10 days late today
    place, meeting = await meeting_recorded(
        console,
        held.isoformat(),
        [
            {"decision": LATER, "department": "health",
             "deadline": (today + timedelta(days=14)).isoformat()},
            {"decision": LATE, "department": "health",
             "deadline": (held + timedelta(days=late_by)).isoformat()},
            {"decision": OTHERS, "department": "environment",
             "deadline": (today - timedelta(days=1)).isoformat()},
        ],
    )  # fmt: skip
    late_id = next(i["id"] for i in meeting["action_items"] if i["decision"] == LATE)
    async with console.city.client("registry") as registry:
        market_name = (await registry.get(f"/markets/{place.market_id}")).json()["name"]
    member, _ = tokens.person(
        "department", place.district, name="周卫健", who="browser", department="health"
    )
    await sign_in(phone, member, tokens.password)

    # Arrived at the home: 待办, the late item first, in red, with its deadline day.
    assert phone.url.endswith("/staff/")
    rows = phone.locator("#due li[data-due=action-item]")
    assert await rows.count() == 2
    first = rows.first
    text = await first.inner_text()
    assert LATE in text and "卫生健康" in text, text
    assert "逾期 10 天" in text and f"期限 {(held + timedelta(days=late_by)):%m-%d}" in text, text
    assert "is-overdue" in (await first.get_attribute("class") or "")
    assert LATER in await rows.nth(1).inner_text()
    assert OTHERS not in await phone.inner_text("#due")  # the environment department's
    # Their district's market by name, linked to its page.
    market = phone.locator(f"#markets a[href='/staff/markets/{place.market_id}']")
    assert await market.inner_text() == market_name
    await shot(phone, "home")
    assert await small_targets(phone) == []  # phone first: every link and button 44 × 44

    # Its one button: 办结 on the meeting's page, where the item's form is.
    button = first.get_by_role("link", name="办结")
    async with phone.expect_navigation() as went:
        await button.click()
    answer = await went.value
    assert answer is not None and answer.status == 200
    assert phone.url.endswith(f"/staff/meetings/{meeting['id']}?item={late_id}#item-{late_id}")
    item = phone.locator(f"#item-{late_id}")
    assert LATE in await item.inner_text()
    others = phone.locator("#items li[data-item]", has_text=OTHERS)
    assert await others.count() == 1 and await others.locator("summary").count() == 0
    # The item's form is open on arrival: the row's button is its one click.
    assert await item.locator("textarea").is_visible()
    await item.locator("textarea").fill("已完成全区冷链设施排查，问题均已整改。")
    await shot(phone, "item-done-form")
    await item.get_by_role("button", name="办结").click()
    await phone.wait_for_url(f"**/staff/meetings/{meeting['id']}?done=item")

    # Back home, it is no longer due; the other item is.
    await phone.goto("/staff/")
    due = await phone.inner_text("#due")
    assert LATE not in due and LATER in due and OTHERS not in due, due
    await shot(phone, "home-after")
