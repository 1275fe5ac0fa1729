"""台账导出 in a real browser on the real services: a leader on a phone opens 台账导出 from the
menu and downloads the month's 投诉台账, 检查台账, 整改台账 and 考核台账 (and the quarter's) and
today's 商户台账; each workbook holds the row of the complaint filed, of the inspection completed
this month, of the order it made, of the market as credit assessed it and of the merchant, in
Chinese, and the complaints ledger holds neither the complainant's name nor phone."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.async_api import Page

from tests.browser.support import (
    Console,
    Shots,
    download,
    inspected_minor,
    month_of,
    sign_in,
    small_targets,
    the_row,
)
from tests.support.identity import Tokens
from tests.support.poll import until


async def test_a_leader_downloads_the_month_s_complaints_and_inspections_on_a_phone(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    done = await inspected_minor(console)
    filed, task_id, city = done.filed, done.task_id, console.city
    place = filed.place
    received, completed = month_of(done.received_at), month_of(done.completed_at)

    leader, _ = tokens.person("leader", place.district, name="周领导", who="ledger")
    await sign_in(phone, leader, tokens.password, shot)
    await phone.locator("nav a[href='/staff/ledgers']").click()
    await phone.wait_for_url("**/staff/ledgers")
    await shot(phone, "ledgers")
    assert "不含投诉人的姓名和电话" in await phone.inner_text("#ledger-complaints")
    assert await small_targets(phone) == []

    name, rows = await download(phone, "complaints", received, shot)
    assert name.startswith("投诉台账-") and name.endswith(f"-{received}.xlsx"), name
    row = the_row(rows, 0, filed.complaint_id)
    assert (row["类别"], row["渠道"], row["状态"]) == ("缺斤短两", "12345 热线", "已受理")
    assert row["受理情况"] == "按期受理" and row["摊位号"] == place.stall_no
    cells = [str(c) for r in rows for c in r if c is not None]
    assert not any("市民甲" in c or "13805350001" in c for c in cells)

    name, rows = await download(phone, "inspections", completed, shot)
    assert name.startswith("检查台账-") and name.endswith(f"-{completed}.xlsx"), name
    row = the_row(rows, 0, task_id)
    assert (row["检查类型"], row["检查结果"]) == ("投诉", "一般问题")
    assert row["检查发现"].startswith("WGT-01") and "电子秤未检定" in row["检查发现"]
    assert isinstance(row["完成时间（北京时间）"], datetime)

    # 整改台账: the order the inspection made, found by its inspection.
    name, rows = await download(phone, "rectifications", completed, shot)
    assert name.startswith("整改台账-") and name.endswith(f"-{completed}.xlsx"), name
    row = the_row(rows, 2, task_id)
    assert (row["问题程度"], row["状态"]) == ("一般问题", "整改中")
    assert row["检查发现"].startswith("WGT-01") and isinstance(row["整改期限"], datetime)

    # 考核台账: the market as credit assessed the month so far, the failed inspection counted;
    # the month's honour list is drawn only after it ends.
    async with city.client("credit", "leader", place.district) as credit:

        async def assessed() -> bool:
            r = await credit.get("/assessments", params={"days": 1})
            mine = [m for m in r.json()["markets"] if m["market_id"] == place.market_id]
            return bool(mine) and mine[0]["inspection_pass_rate"] == 0.0

        await until(assessed, within=60, every=0.5, what="credit counted the inspection")
    async with city.client("registry") as registry:
        market = (await registry.get(f"/markets/{place.market_id}")).json()
    name, rows = await download(phone, "assessments", completed, shot)
    assert name.startswith("考核台账-") and name.endswith(f"-{completed}.xlsx"), name
    row = the_row(rows, 1, market["name"])
    assert row["检查合格率"] == 0.0 and row["红黑榜"] == "未发布", row
    assert re.fullmatch(r"\d+/\d+", row["本区排名"]) and 0 <= row["综合得分"] <= 100, row
    [district] = [r for r in rows[1:] if r[1] == "全区"]
    assert district[2] == row["区县"] and str(district[0]).startswith("全市第 ")
    # The quarter so far: the same inspection, and how many of its months' lists are out.
    year, month = completed.split("-")
    quarter = f"{year}-Q{(int(month) - 1) // 3 + 1}"
    name, rows = await download(phone, "assessments", quarter, shot)
    assert name.endswith(f"-{quarter}.xlsx"), name
    assert the_row(rows, 1, market["name"])["检查合格率"] == 0.0
    [district] = [r for r in rows[1:] if r[1] == "全区"]
    assert re.fullmatch(r"已发布 [0-3]/3 个月", district[-2]), district

    # 商户台账, as registered today: the merchant's codes as text, its grade from credit.
    async with city.client("registry") as registry:
        merchant = (await registry.get(f"/merchants/{place.merchant_id}")).json()
    name, rows = await download(phone, "merchants", None, shot)
    assert name.startswith("商户台账-") and name.endswith(".xlsx"), name
    row = the_row(rows, 2, merchant["name"])
    assert row["统一社会信用代码"] == merchant["credit_code"]
    assert row["食品经营许可证"] == merchant["food_licence"]
    assert (row["摊位号"], row["经营状态"]) == (place.stall_no, "正常经营")
    assert row["信用等级"] in ("A", "B", "C", "D"), row
