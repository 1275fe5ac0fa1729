"""A refused completion (完成检查) shows every reason beside its own field: a finding's note too
long right below that finding's note, a department's beside the departments, the outcome's
beside the outcome, together. The console runs in process, the inspection service stubbed."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from services.runtime.auth import Principal
from tests.unit.console import support

INSPECTOR = Principal("sub-1", "inspector", "zhifu", name="王检查")
TASK = {
    "id": "tsk_1", "task_id": "tsk_1", "reason_kind": "risk", "state": "claimed",
    "assignee": "sub-1", "market_id": "mkt_1", "district": "zhifu", "merchant_id": None,
    "stall_no": "C-3", "due_at": "2026-05-04T05:00:00+00:00", "triggers": [],
    "rectification_id": None, "due_rule": None, "task_force": None,
}  # fmt: skip
FINDINGS = [
    {"code": code, "label_zh": label, "severity": "major", "category": "cold_chain",
     "category_zh": "冷链管理"}
    for code, label in (("CCH-01", "冷藏温度不达标"), ("CCH-02", "冷链记录缺失"))
]  # fmt: skip


def refusal(*errors: tuple[str, str]) -> httpx.Response:
    body = {"error": "invalid_input", "message": "refused"}
    return httpx.Response(
        422, json=body | {"errors": [{"field": f, "reason": r} for f, r in errors]}
    )


async def completed(answer: httpx.Response, form: dict[str, Any]) -> tuple[str, list[Any]]:
    sent: list[Any] = []

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/tasks/tsk_1/complete":
            sent.append(json.loads(request.read()))
            return answer
        if path == "/tasks/tsk_1":
            return httpx.Response(200, json=TASK)
        if path == "/findings":
            return httpx.Response(200, json={"items": FINDINGS})
        return httpx.Response(404, json={"error": "not_found"})

    async with support.console(services, INSPECTOR) as console:
        r = await console.post("/staff/tasks/tsk_1/complete", data=form)
    assert r.status_code == 422, r.text
    return r.text, sent


def right_after(page: str, name: str) -> str | None:
    """The reason standing right after the input `name`, if any."""
    found = re.search(rf'name="{name}"[^>]*>\s*<span class="field-error"[^>]*>([^<]*)<', page)
    return found.group(1) if found else None


async def test_a_findings_note_too_long_stands_below_that_note_with_the_outcome() -> None:
    milder = "minor is milder than finding CCH-01 (major); the outcome must be at least major"
    answer = refusal(
        ("outcome", milder),
        ("findings.0.note", "at most 1000 characters"),
        ("departments.0", "must be one of market_regulation, health, environment"),
    )
    form = {"outcome": "minor", "finding": ["CCH-01", "CCH-02"], "note_CCH-01": "冷" * 1001}
    page, sent = await completed(answer, form)
    assert [f["code"] for f in sent[0]["findings"]] == ["CCH-01", "CCH-02"]
    assert right_after(page, "note_CCH-01") == "最多 1000 个字"
    assert right_after(page, "note_CCH-02") is None
    assert 'name="note_CCH-01" value="' + "冷" * 1001 + '"' in page
    department = re.search(r"联合检查部门</legend>.*?</fieldset>", page, re.S)
    assert department and 'class="field-error"' in department.group(0)
    outcome = re.search(r"检查结果</legend>.*?</fieldset>", page, re.S)
    assert outcome and "至少为" in outcome.group(0)


async def test_a_refused_completion_keeps_the_photos_it_uploaded_and_a_retry_sends_them_once() -> (
    None
):
    """The photo was uploaded to the task before the completion was refused; the page came back
    with the file field empty and no word of it, so the retry recorded the check without it
    (or uploaded it twice)."""
    sent: list[httpx.Request] = []
    answers = [refusal(("outcome", "must be one of pass, minor, major, critical")), None]

    def services(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/tasks/tsk_1/photos":
            sent.append(request)
            return httpx.Response(201, json={"id": "pho_1"})
        if request.method == "POST" and path == "/tasks/tsk_1/complete":
            sent.append(request)
            return answers.pop(0) or httpx.Response(200, json=TASK | {"state": "completed"})
        if path == "/tasks/tsk_1":
            return httpx.Response(200, json=TASK)
        if path == "/findings":
            return httpx.Response(200, json={"items": FINDINGS})
        return httpx.Response(404, json={"error": "not_found"})

    async with support.console(services, INSPECTOR) as console:
        refused = await console.post(
            "/staff/tasks/tsk_1/complete",
            data={"finding": ["CCH-01"]},
            files={"photos": ("stall.png", b"\x89PNG", "image/png")},
        )
        assert refused.status_code == 422
        assert '<input type="hidden" name="uploaded" value="pho_1">' in refused.text
        assert "已上传 1 张照片，将随检查结果一并记录" in refused.text
        again = await console.post(
            "/staff/tasks/tsk_1/complete",
            data={"outcome": "major", "finding": ["CCH-01"], "uploaded": "pho_1"},
        )
    assert again.status_code == 303
    assert [r.url.path for r in sent] == [
        "/tasks/tsk_1/photos",
        "/tasks/tsk_1/complete",
        "/tasks/tsk_1/complete",
    ]  # uploaded once
    assert json.loads(sent[-1].content)["photos"] == ["pho_1"]


async def task_page(task: dict[str, Any], order: dict[str, Any] | None = None) -> httpx.Response:
    """The inspector's page of `task` (and of its order, if any)."""
    answers = {"/tasks/tsk_1": task, "/findings": {"items": FINDINGS}}
    if order is not None:
        answers[f"/rectifications/{order['rectification_id']}"] = order

    def services(request: httpx.Request) -> httpx.Response:
        found = answers.get(request.url.path)
        return httpx.Response(200, json=found) if found else httpx.Response(404, json={})

    async with support.console(services, INSPECTOR) as console:
        r = await console.get("/staff/tasks/tsk_1")
    assert r.status_code == 200, r.text
    return r


async def test_a_withdrawn_task_says_why_and_offers_no_claim_or_completion() -> None:
    """Its merchant left its stall (退出经营): the inspector is told there is nothing to inspect,
    and neither 认领 nor 完成检查 is offered, whoever held it."""
    withdrawn = TASK | {
        "state": "withdrawn",
        "withdrawn_at": "2026-05-04T02:00:00+00:00",
        "withdrawal_reason": "merchant_left",
    }

    r = await task_page(withdrawn)
    card = re.search(r'<section class="card" id="withdrawn">(.*?)</section>', r.text, re.S)
    assert card is not None
    assert "任务已撤销" in card.group(1) and "商户已退出经营" in card.group(1)
    assert "05-04 10:00" in card.group(1)  # withdrawn_at, in the city's time
    assert "<dt>状态</dt><dd>已撤销</dd>" in r.text
    assert "/claim" not in r.text and 'id="complete"' not in r.text
    assert 'class="overdue"' not in r.text  # past its due time, yet nothing is late


@pytest.mark.parametrize(
    ("reason", "suspension", "said"),
    [
        ("merchant_left", False, "终止：商户已退出经营，无人可整改，不再复查。"),
        (
            "finding_corrected",
            True,
            "终止：检查结论经信用异议更正，没有需要整改的问题，不再复查。暂停经营随之解除。",
        ),
        ("finding_corrected", False, "经信用异议更正，没有需要整改的问题，不再复查。"),
        ("merchant_left", True, "终止：商户已退出经营，无人可整改，不再复查。"),
    ],
    ids=["merchant-left", "corrected-suspension", "corrected", "merchant-left-suspension"],
)
async def test_a_completed_task_whose_order_lapsed_says_why_and_offers_no_recheck(
    reason: str, suspension: bool, said: str
) -> None:
    """Its merchant left its stall before rectifying, or the district found its finding wrong:
    the order ended, nothing to re-check; a suspension it made is said to end with it."""
    done = TASK | {
        "state": "completed",
        "outcome": "critical" if suspension else "major",
        "findings": [],
        "completed_at": "2026-05-03T02:00:00+00:00",
        "rectification_id": "rec_1",
    }
    order = {
        "rectification_id": "rec_1", "task_id": "tsk_1", "state": "lapsed",
        "deadline": "2026-05-06T02:00:00+00:00", "lapsed_at": "2026-05-05T01:00:00+00:00",
        "lapse_reason": reason, "severity": done["outcome"], "findings": [],
        "last_verification_at": None, "suspension": suspension,
    }  # fmt: skip

    r = await task_page(done, order)
    state = re.search(r'<p id="order-state">(.*?)</p>', r.text, re.S)
    assert state is not None and state.group(1).startswith("已终止")
    assert 'class="overdue"' not in state.group(1)
    lapsed = re.search(r'<p class="muted" id="order-lapsed">(.*?)</p>', r.text, re.S)
    assert lapsed is not None
    assert lapsed.group(1).startswith("05-05 09:00 ")
    assert lapsed.group(1).endswith(said)
    corrected = reason == "finding_corrected"
    assert ("暂停经营随之解除" in lapsed.group(1)) == (suspension and corrected)
    # The record of what was found stays, marked as found wrong; a critical one found wrong is
    # no ground for a joint enforcement case any more (a suspension: a critical finding).
    assert ('id="findings-corrected"' in r.text) == corrected
    assert ("移送联合执法" in r.text) == (suspension and not corrected)
    assert "去复查" not in r.text
