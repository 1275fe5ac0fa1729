"""`POST /meetings` answers every problem of one request in one 422 (docs/campaign.md,
"Refusals"): the meeting's rules run before anything is stored, so the app is built, not
started (no database, no Kafka)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.campaign.app import build
from services.campaign.settings import CampaignSettings
from tests.support.signing import LocalSigner

SIGNER = LocalSigner()
CITY = ZoneInfo("Asia/Shanghai")
APP = build(SIGNER.offline(CampaignSettings))


def today() -> date:
    return datetime.now(CITY).date()


def meeting(**changes: Any) -> dict[str, Any]:
    held = today() - timedelta(days=2)
    body: dict[str, Any] = {
        "district": "zhifu",
        "title": "第二季度联席会议",
        "held_on": held.isoformat(),
        "departments": ["market_regulation", "health"],
        "minutes": "通报冷链检查情况",
        "decisions": [
            {"decision": "排查冷链设施", "department": "health", "deadline": held.isoformat()}
        ],
    }
    return body | changes


async def _post(body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://svc"
    ) as http:
        return await http.post("/meetings", json=body, headers=SIGNER.bearer("clerk", "zhifu"))


async def test_a_blank_title_and_a_deadline_before_the_meeting_are_one_422() -> None:
    body = meeting(title=" ")
    held = body["held_on"]
    body["decisions"][0]["deadline"] = "2020-01-01"
    r = await _post(body)
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": "invalid_input",
        "message": f"title: must not be blank; decisions.0.deadline: must not be before the "
        f"meeting ({held})",
        "errors": [
            {"field": "title", "reason": "must not be blank"},
            {"field": "decisions.0.deadline", "reason": f"must not be before the meeting ({held})"},
        ],
    }


async def test_a_future_day_blank_minutes_no_department_and_a_day_left_out_are_one_422() -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()
    body = meeting(held_on=tomorrow, minutes="", departments=[])
    body["decisions"][0]["deadline"] = None
    r = await _post(body)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        "held_on",
        "departments",
        "minutes",
        "decisions.0.deadline",
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"title": "x" * 501}, "title"), ({"held_on": "2026-13-01"}, "held_on")],
)
async def test_one_problem_is_one_error_naming_its_field(
    changes: dict[str, Any], field: str
) -> None:
    r = await _post(meeting(**changes))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
