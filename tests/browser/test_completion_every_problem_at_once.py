"""The inspector's completion form (完成检查, on a 375 px phone) tells every problem at once, each
beside its own field: an outcome milder than its finding beside the outcome, and that finding's
note, too long, right below that note (not at the foot of the checklist); the task stays
claimed, nothing saved."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.support import Console, Shots, door_left_open, sign_in
from tests.support.identity import Tokens


async def test_a_milder_outcome_and_a_note_too_long_are_each_shown_beside_their_field(
    console: Console, phone: Page, tokens: Tokens, shot: Shots
) -> None:
    stall, task_id = await door_left_open(console)
    inspector, _ = tokens.person("inspector", stall.district, name="孙检查", who="browser")
    await sign_in(phone, inspector, tokens.password)
    await phone.goto(f"/staff/tasks/{task_id}")
    await phone.get_by_role("button", name="认领").click()
    await phone.wait_for_url(f"**/staff/tasks/{task_id}?done=claimed")
    form = phone.locator("form#complete")
    await form.locator('input[name="outcome"][value="minor"]').check()
    # A finding's note box shows once the finding is ticked: the checklist is one line an item.
    note = form.locator('input[name="note_CCH-01"]')
    notes = form.locator('input[name^="note_"]')
    assert await note.is_hidden() and await notes.count() > 10
    assert [await n.is_visible() for n in await notes.all()] == [False] * await notes.count()
    await form.locator('input[name="finding"][value="CCH-01"]').check()  # a major finding
    assert await note.is_visible()
    await note.fill("冷" * 1001)
    await form.get_by_role("button", name="完成检查").click()

    note_error = phone.locator("#note_CCH-01-error")
    await note_error.wait_for()
    await shot(phone, "two-problems")
    assert (await note_error.inner_text()).strip() == "最多 1000 个字"
    outcome = phone.locator('form#complete fieldset:has(input[name="outcome"]) > .field-error')
    assert await outcome.inner_text() == "检查结果不能轻于所勾选的问题项：至少为“较重问题”"
    # Right below the note it is about, on the phone's narrow page; the note is marked.
    assert await note.get_attribute("aria-invalid") == "true"
    assert await note.evaluate("n => n.nextElementSibling && n.nextElementSibling.id") == (
        "note_CCH-01-error"
    )
    box, below = await note.bounding_box(), await note_error.bounding_box()
    assert box is not None and below is not None
    assert 0 <= below["y"] - (box["y"] + box["height"]) < 40
    # What was typed is kept, and the checklist tells nothing else (the note's reason only).
    assert await note.input_value() == "冷" * 1001
    # A note with text stays in view even with its finding unticked: nothing typed is hidden.
    await form.locator('input[name="finding"][value="CCH-01"]').uncheck()
    assert await note.is_visible()
    await form.locator('input[name="finding"][value="CCH-01"]').check()
    checklist = phone.locator('form#complete fieldset:has(input[name="finding"]) .field-error')
    assert await checklist.count() == 1
    async with console.city.client("inspection") as inspection:
        r = await inspection.get(f"/tasks/{task_id}")
        assert r.json()["state"] == "claimed"  # nothing half-saved
