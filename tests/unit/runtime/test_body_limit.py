"""A body over its cap is refused, naming the field and the reason, and changes nothing
(services/runtime/body_limit.py): declared too large, refused before it is read; streamed past
the cap with no length declared, cut there. Forms with files have a cap of their own. A
service's refusal is its JSON error (and is counted); the console's is a page in Chinese."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import Body
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from services.registry.app import build
from services.registry.settings import RegistrySettings
from services.runtime.body_limit import BodyLimit
from tests.support.service_apps import COMMON
from tests.unit.console import support

CAP = 64 * 1024


def registry_with_a_recorder(taken: list[int]) -> httpx.AsyncClient:
    app = build(
        RegistrySettings(**COMMON, terminal_master_secret="m" * 32, http_max_body_bytes=CAP)
    )

    async def record(items: list[str] = Body(..., embed=True)) -> dict[str, int]:  # noqa: B008
        taken.append(len(items))
        return {"taken": len(items)}

    app.add_api_route("/record", record, methods=["POST"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://svc")
    client.app = app  # type: ignore[attr-defined]
    return client


def document(size: int) -> bytes:
    """A JSON body of about `size` bytes."""
    items = ",".join('"' + "x" * 98 + '"' for _ in range(size // 101 + 1))
    return ('{"items": [' + items + "]}").encode()


async def streamed(data: bytes, chunk: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


def counted_413(app: object) -> float:
    text = app.state.service.metrics.render().decode()  # type: ignore[attr-defined]
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "sentinel_registry_http_requests_total"
        and sample.labels.get("status") == "413"
    )


async def test_a_body_within_the_cap_is_taken() -> None:
    taken: list[int] = []
    async with registry_with_a_recorder(taken) as client:
        r = await client.post(
            "/record", content=document(CAP // 2), headers={"content-type": "application/json"}
        )
    assert r.status_code == 200 and taken == [r.json()["taken"]] and taken[0] > 100


async def test_a_body_declared_over_the_cap_is_refused_unread_naming_body() -> None:
    taken: list[int] = []
    async with registry_with_a_recorder(taken) as client:
        r = await client.post(
            "/record", content=document(2 * CAP), headers={"content-type": "application/json"}
        )
        assert counted_413(client.app) == 1  # type: ignore[attr-defined]
    assert r.status_code == 413 and taken == []
    assert r.json()["error"] == "too_large"
    assert r.json()["errors"] == [{"field": "body", "reason": f"at most {CAP} bytes"}]


async def test_a_body_streamed_past_the_cap_without_a_length_is_cut_and_changes_nothing() -> None:
    taken: list[int] = []
    async with registry_with_a_recorder(taken) as client:
        r = await client.post(
            "/record",
            content=streamed(document(2 * CAP)),
            headers={"content-type": "application/json"},
        )
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and taken == []
    assert r.json()["errors"] == [{"field": "body", "reason": f"at most {CAP} bytes"}]


def bare_app(max_bytes: int, max_multipart_bytes: int, sizes: list[int]) -> httpx.AsyncClient:
    async def upload(request: Request) -> Response:
        sizes.append(len(await request.body()))
        return PlainTextResponse("ok")

    def refuse(scope: Scope, cap: int) -> Response:
        return JSONResponse({"cap": cap, "path": scope["path"]}, status_code=413)

    app = BodyLimit(
        Starlette(routes=[Route("/upload", upload, methods=["POST"])]),
        max_bytes=max_bytes,
        max_multipart_bytes=max_multipart_bytes,
        refuse=refuse,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def test_a_form_with_files_has_a_cap_of_its_own() -> None:
    sizes: list[int] = []
    photo = {"file": ("p.jpg", b"\xff\xd8\xff" + b"0" * 40_000, "image/jpeg")}
    async with bare_app(10_000, 100_000, sizes) as client:
        form = await client.post("/upload", files=photo)
        plain = await client.post("/upload", content=b"0" * 40_000)
        too_big = await client.post("/upload", files={"file": ("p.jpg", b"0" * 200_000)})
    assert form.status_code == 200 and len(sizes) == 1 and sizes[0] > 40_000
    assert plain.status_code == 413 and plain.json() == {"cap": 10_000, "path": "/upload"}
    assert too_big.status_code == 413 and too_big.json()["cap"] == 100_000
    assert len(sizes) == 1


async def test_the_console_refuses_a_citizens_oversized_form_with_a_page_in_chinese() -> None:
    def services(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no service is called for a refused form: {request.url}")

    async with support.console(services, max_form_bytes=1024 * 1024) as client:
        r = await client.post(
            "/complaints/new",
            files={"photos": ("big.jpg", b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024))},
            data={"facts": "短斤少两"},
        )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "提交的内容过大" in r.text and "超过 1 MB" in r.text and "较小或较少的照片" in r.text
    assert 'href="/markets"' in r.text
    assert "Content-Security-Policy" in r.headers


async def test_a_services_photo_form_over_the_photos_cap_is_refused_naming_file() -> None:
    """A service's only form is a photo upload: refused unread, it names `file` with the reason
    the route itself gives (services/runtime/photo_uploads.py), not the body."""
    from services.inspection.app import build as inspection
    from services.inspection.settings import InspectionSettings

    app = inspection(InspectionSettings(**COMMON, photo_max_bytes=100_000))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        r = await client.post(
            "/tasks/tsk_1/photos", files={"file": ("big.jpg", b"\xff\xd8\xff" + b"0" * 400_000)}
        )
    assert r.status_code == 413
    assert r.json()["errors"] == [
        {"field": "file", "reason": "a photo is at most 100000 bytes (0.0953674 MB)"}
    ]
