"""复查 with its evidence (docs/console.md: evidence at the stall): the form on 待复查 takes a
note and a photo from the phone's camera, uploads the photo to the order, then records the result
naming it; a refusal stands beside its field with what was typed (and the photos already
uploaded) kept; the task's page shows the check's note and photos once it is done."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx

from services.runtime.auth import Principal
from tests.unit.console import support

Answer = Callable[[httpx.Request], httpx.Response | None]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ORDER = {
    "id": "rct_1", "rectification_id": "rct_1", "task_id": "tsk_1", "market_id": "mkt_1",
    "stall_no": "C-3", "severity": "major", "deadline": "2026-05-13T15:59:59+00:00",
    "findings": [{"code": "CCH-01", "title_zh": "冷藏冷冻设备温度不达标"}], "state": "open",
}  # fmt: skip
TASK = {
    "id": "tsk_1", "task_id": "tsk_1", "reason_kind": "risk", "state": "completed",
    "market_id": "mkt_1", "district": "zhifu", "merchant_id": None, "stall_no": "C-3",
    "due_at": "2026-05-04T05:00:00+00:00", "triggers": [], "outcome": "major",
    "rectification_id": "rct_1", "due_rule": None, "task_force": None,
}  # fmt: skip


INSPECTOR = Principal("sub-1", "inspector", "zhifu", name="王检查")


def console(
    answer: Answer, sent: list[httpx.Request], who: Principal = INSPECTOR
) -> httpx.AsyncClient:
    """The console signed in as `who` (an inspector of zhifu); every POST to a service is kept."""

    def services(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            request.read()
            sent.append(request)
        return answer(request) or httpx.Response(404, json={"error": "not_found"})

    return support.console(services, who)


def the_order(page: str) -> str:
    """The markup of order rct_1 on 待复查."""
    start = page.index('id="r-rct_1"')
    return page[start : page.index("</li>", start)]


def beside(markup: str, label: str) -> str:
    """The error standing right after the field labelled `label`, before the next label."""
    after = markup[markup.index(f">{label}</label>") :]
    nxt = after.find("<label", 1)
    found = re.findall(r'class="field-error"[^>]*>([^<]*)<', after[: nxt if nxt > 0 else None])
    assert found, f"no error beside {label}"
    return found[0]


def listing(request: httpx.Request) -> httpx.Response | None:
    if request.method == "GET" and request.url.path == "/rectifications":
        return httpx.Response(200, json={"items": [ORDER]})
    return None


def refusal(field: str, reason: str) -> httpx.Response:
    """A service refusing one field of what it was sent (422 invalid_input)."""
    error = {"field": field, "reason": reason}
    return httpx.Response(422, json={"error": "invalid_input", "message": field, "errors": [error]})


async def passed(client: httpx.AsyncClient, note: str, photo: tuple[str, bytes]) -> httpx.Response:
    """Order rct_1 checked and passed on 待复查, with `note` and one PNG `photo` (name, bytes)."""
    name, content = photo
    return await client.post(
        "/staff/rectifications/rct_1/verify",
        data={"passed": "true", "note": note},
        files={"photos": (name, content, "image/png")},
    )


async def test_the_recheck_form_takes_a_note_and_a_photo_from_the_camera() -> None:
    async with console(listing, []) as client:
        r = await client.get("/staff/rectifications")
    assert r.status_code == 200
    order = the_order(r.text)
    assert 'enctype="multipart/form-data"' in order
    assert ">复查说明</label>" in order and '<textarea id="note-rct_1" name="note"' in order
    assert ">复查照片</label>" in order
    assert re.search(r'<input[^>]*name="photos"[^>]*accept="image/\*" capture="environment"', order)
    assert "复查通过" in order and "未通过" in order


async def test_a_recheck_uploads_its_photo_to_the_order_then_records_the_result() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/rectifications/rct_1/photos":
            return httpx.Response(201, json={"id": "pho_1", "content_type": "image/png"})
        if request.url.path == "/rectifications/rct_1/verify":
            return httpx.Response(200, json=ORDER | {"state": "verified"})
        return listing(request)

    sent: list[httpx.Request] = []
    async with console(answer, sent) as client:
        r = await passed(client, " 冷柜门已修好 ", ("fixed.png", PNG))
    assert r.status_code == 303 and r.headers["location"] == "/staff/rectifications?done=verified"
    upload, verified = sent
    assert upload.url.path == "/rectifications/rct_1/photos"
    assert b'name="file"; filename="fixed.png"' in upload.content and PNG in upload.content
    assert verified.url.path == "/rectifications/rct_1/verify"
    assert json.loads(verified.content) == {
        "passed": True,
        "note": "冷柜门已修好",
        "photos": ["pho_1"],
    }


async def test_a_recheck_without_evidence_sends_the_result_alone() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/rectifications/rct_1/verify":
            return httpx.Response(200, json=ORDER)
        return listing(request)

    sent: list[httpx.Request] = []
    async with console(answer, sent) as client:
        r = await client.post("/staff/rectifications/rct_1/verify", data={"passed": "false"})
    assert r.status_code == 303
    [verified] = sent
    assert json.loads(verified.content) == {"passed": False}


async def test_a_refused_note_stands_beside_it_and_keeps_what_was_typed_and_uploaded() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/rectifications/rct_1/photos":
            return httpx.Response(201, json={"id": "pho_1"})
        if request.url.path == "/rectifications/rct_1/verify":
            return refusal("note", "at most 1000 characters")
        return listing(request)

    sent: list[httpx.Request] = []
    async with console(answer, sent) as client:
        r = await passed(client, "已修好", ("fixed.png", PNG))
        assert r.status_code == 422
        order = the_order(r.text)
        assert beside(order, "复查说明") == "最多 1000 个字"
        assert ">已修好</textarea>" in order  # what was typed, in its field
        # The photo already uploaded is kept, so a retry sends it once.
        assert '<input type="hidden" name="uploaded" value="pho_1">' in order
        assert "已上传 1 张照片" in order

        sent.clear()
        await client.post(
            "/staff/rectifications/rct_1/verify",
            data={"passed": "true", "note": "已修好", "uploaded": "pho_1"},
        )
    [again] = sent  # no second upload
    assert json.loads(again.content) == {"passed": True, "note": "已修好", "photos": ["pho_1"]}


async def test_a_refused_photo_stands_beside_the_photos_and_nothing_is_recorded() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/rectifications/rct_1/photos":
            return refusal("file", "not a JPEG, PNG or WebP image (judged by its content)")
        return listing(request)

    sent: list[httpx.Request] = []
    async with console(answer, sent) as client:
        r = await passed(client, "已修好", ("x.png", b"not an image"))
    assert r.status_code == 422
    order = the_order(r.text)
    assert beside(order, "复查照片") == "只能上传 JPEG、PNG 或 WebP 格式的照片"
    assert ">已修好</textarea>" in order
    assert [s.url.path for s in sent] == ["/rectifications/rct_1/photos"]  # never verified


async def test_the_task_page_shows_the_rechecks_note_and_photos() -> None:
    checked = ORDER | {
        "state": "verified",
        "verified_actor": {"subject": "sub-1", "name": "王检查"},
        "last_verification_at": "2026-05-06T02:00:00+00:00",
        "verification_note": "冷柜门已修好，柜内 −18 °C",
        "verification_photos": ["pho_1"],
    }

    def answer(request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if path == "/tasks/tsk_1":
            return httpx.Response(200, json=TASK)
        if path == "/rectifications/rct_1":
            return httpx.Response(200, json=checked)
        if path == "/rectifications/rct_1/photos/pho_1":
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        return None

    async with console(answer, []) as client:
        r = await client.get("/staff/tasks/tsk_1")
        photo = await client.get("/staff/rectifications/rct_1/photos/pho_1")
        missing = await client.get("/staff/rectifications/rct_1/photos/pho_2")
    assert r.status_code == 200
    card = r.text[r.text.index('id="rectification"') :]
    assert "复查说明" in card and "冷柜门已修好，柜内 −18 °C" in card
    assert "复查照片" in card and "通过" in card and "王检查" in card
    assert 'src="/staff/rectifications/rct_1/photos/pho_1"' in card
    assert photo.status_code == 200 and photo.content == PNG
    assert photo.headers["content-type"] == "image/png"
    assert missing.status_code == 404


async def test_the_task_page_offers_复查_only_while_the_order_is_open() -> None:
    def page_with(order: dict[str, object]) -> Answer:
        def answer(request: httpx.Request) -> httpx.Response | None:
            if request.url.path == "/tasks/tsk_1":
                return httpx.Response(200, json=TASK)
            if request.url.path == "/rectifications/rct_1":
                return httpx.Response(200, json=order)
            return None

        return answer

    async with console(page_with(ORDER), []) as client:
        still_open = (await client.get("/staff/tasks/tsk_1")).text
    async with console(page_with(ORDER | {"state": "verified"}), []) as client:
        verified = (await client.get("/staff/tasks/tsk_1")).text
    assert ">去复查</a>" in still_open
    assert ">去复查</a>" not in verified and "已复查通过" in verified


async def test_a_leader_or_a_department_reads_the_orders_and_tasks_without_their_buttons() -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/tasks/tsk_1":
            return httpx.Response(200, json=TASK | {"state": "open", "outcome": None})
        if request.url.path == "/rectifications/rct_1":
            return httpx.Response(200, json=ORDER)
        return listing(request)

    for who in (
        Principal("sub-2", "leader", "zhifu", name="刘领导"),
        Principal("sub-3", "department", "zhifu", name="赵部门"),
    ):
        async with console(answer, [], who) as client:
            orders = await client.get("/staff/rectifications")
            task = await client.get("/staff/tasks/tsk_1")
        assert orders.status_code == task.status_code == 200
        order = the_order(orders.text)
        assert "冷藏冷冻设备温度不达标" in order
        assert "<form" not in order and "复查通过" not in order
        assert '/claim"' not in task.text and ">去复查</a>" not in task.text
        assert 'href="/staff/rectifications"' in orders.text  # 待复查 is in their menu
    async with console(answer, []) as client:
        inspector_task = await client.get("/staff/tasks/tsk_1")
    assert '/claim"' in inspector_task.text and ">去复查</a>" in inspector_task.text
