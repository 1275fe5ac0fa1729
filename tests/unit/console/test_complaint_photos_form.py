"""The citizen's complaint form with photos: each photo is uploaded to the complaints service
before the complaint names it; a refused photo says why beside 照片 and nothing is filed; photos
already uploaded come back hidden when the form is refused for another reason, and are sent once.
The portal runs in process, its services answered by a stub."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from services.console import labels
from services.console.app import build
from services.console.settings import ConsoleSettings
from tests.support.images import png
from tests.unit.console.portal_answers import ANSWERS

COMPLAINT = {
    "market_id": "mkt_1",
    "category": "short_weight",
    "facts": "少称二两",
    "request": "退款",
    "name": "张三",
    "phone": "13812345678",
}
RECEIPT = {"id": "cmp_1", "tracking_code": "ABCDEFGHJK", "photos": 1}


def refusal(status: int, *errors: tuple[str, str]) -> httpx.Response:
    body = {
        "error": "invalid_input",
        "message": "; ".join(f"{f}: {r}" for f, r in errors),
        "errors": [{"field": f, "reason": r} for f, r in errors],
    }
    return httpx.Response(status, json=body)


@dataclass
class Complaints:
    """The stub's complaints service: what each upload and filing answers, what it was sent."""

    upload: httpx.Response | None = None
    filing: httpx.Response | None = None
    uploads: list[bytes] = field(default_factory=list)
    filings: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/complaints/photos":
            self.uploads.append(request.read())
            return self.upload or httpx.Response(
                201, json={"id": f"cph_{len(self.uploads):016d}", "complaint_id": None}
            )
        if request.method == "POST" and path == "/complaints":
            self.filings.append(json.loads(request.read()))
            return self.filing or httpx.Response(201, json=RECEIPT)
        body = ANSWERS.get(path)
        if body is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=body)


def portal(services: Complaints) -> httpx.AsyncClient:
    app = build(
        ConsoleSettings(
            oidc_issuer="http://idp.invalid/realms/x",
            session_secret="s" * 32,
            **{f"{s}_url": f"http://{s}" for s in ("registry", "campaign", "credit", "complaints")},
        ),
        httpx.MockTransport(services),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def submit(
    http: httpx.AsyncClient, photos: int, data: dict[str, Any] | None = None
) -> httpx.Response:
    token = re.search(r'name="csrf" value="([^"]+)"', (await http.get("/complaints/new")).text)
    assert token
    files = [("photos", (f"p{i}.png", png(), "image/png")) for i in range(photos)]
    form = {**COMPLAINT, **(data or {}), "csrf": token.group(1)}
    # With no photo chosen a browser still sends the file field, empty and nameless.
    return await http.post(
        "/complaints/new", data=form, files=files or [("photos", ("", b"", "application/x"))]
    )


def beside(html: str, name: str) -> str | None:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', html)
    return found.group(1).strip() if found else None


def hidden_uploads(html: str) -> list[str]:
    return re.findall(r'name="uploaded" value="([^"]+)"', html)


async def test_the_photos_are_uploaded_then_named_by_the_complaint() -> None:
    services = Complaints()
    async with portal(services) as http:
        r = await submit(http, photos=2)
    assert r.status_code == 303 and r.headers["location"] == "/complaints/filed/ABCDEFGHJK"
    assert len(services.uploads) == 2 and all(png() in u for u in services.uploads)
    [filed] = services.filings
    assert filed["photos"] == [f"cph_{1:016d}", f"cph_{2:016d}"]


async def test_a_complaint_without_photos_names_none() -> None:
    services = Complaints()
    async with portal(services) as http:
        r = await submit(http, photos=0)
    assert r.status_code == 303
    assert services.uploads == [] and "photos" not in services.filings[0]


async def test_a_photo_the_service_refuses_stands_beside_the_photos_and_nothing_is_filed() -> None:
    services = Complaints(
        upload=refusal(422, ("file", "not a JPEG, PNG or WebP image (judged by its content)"))
    )
    async with portal(services) as http:
        r = await submit(http, photos=1)
    assert r.status_code == 422
    assert beside(r.text, "photos") == "只能上传 JPEG、PNG 或 WebP 格式的照片"
    assert 'aria-invalid="true"' in re.search(r'<input type="file"[^>]*>', r.text).group(0)
    assert services.filings == []
    assert "少称二两" in r.text  # what was typed is kept


async def test_more_than_three_photos_are_refused_before_anything_is_sent() -> None:
    services = Complaints()
    async with portal(services) as http:
        r = await submit(http, photos=4)
    assert r.status_code == 422
    assert beside(r.text, "photos") == "最多 3 张照片"
    assert services.uploads == [] and services.filings == []


async def test_photos_uploaded_before_another_refusal_are_sent_once_on_the_next_try() -> None:
    services = Complaints(filing=refusal(422, ("complainant.phone", "must be a mobile")))
    async with portal(services) as http:
        r = await submit(http, photos=1)
        assert r.status_code == 422
        kept = hidden_uploads(r.text)
        assert kept == [f"cph_{1:016d}"]
        assert "已上传 1 张照片" in r.text
        services.filing = None
        r = await submit(http, photos=0, data={"uploaded": kept})
    assert r.status_code == 303
    assert len(services.uploads) == 1  # not uploaded again
    assert services.filings[-1]["photos"] == kept


# The time the service keeps an upload (COMPLAINTS_PHOTO_TTL_S) is the one its reason names.
@pytest.mark.parametrize(("kept", "said"), [("1 hour", "1 小时"), ("30 minutes", "30 分钟")])
async def test_a_photo_the_filing_refuses_is_not_offered_again(kept: str, said: str) -> None:
    reason = f"photo 'cph_1' expired ({kept} unclaimed): upload it again"
    services = Complaints(filing=refusal(422, ("photos.0", reason)))
    async with portal(services) as http:
        r = await submit(http, photos=1)
    assert r.status_code == 422
    assert beside(r.text, "photos") == f"照片上传已超过 {said}，请重新选择"
    assert hidden_uploads(r.text) == []


@pytest.mark.parametrize(
    ("said", "chinese"),
    [
        ("2 hours", "照片上传已超过 2 小时，请重新选择"),
        ("1 minute", "照片上传已超过 1 分钟，请重新选择"),
        ("90 seconds", "照片上传已超过 90 秒，请重新选择"),
        ("0.5 seconds", "照片上传已超过 0.5 秒，请重新选择"),
        # the words before the time was said in the largest unit
        ("60 minutes", "照片上传已超过 60 分钟，请重新选择"),
        # any other wording: no time the page could get wrong
        ("a while", "照片上传已过期，请重新选择"),
    ],
)
def test_the_expiry_reads_in_chinese_with_the_time_the_reason_names(
    said: str, chinese: str
) -> None:
    reason = f"photo 'cph_1' expired ({said} unclaimed): upload it again"
    assert labels.field_reason_zh("photos.0", reason) == chinese
