"""The inspector's task list page with 1,000 open tasks: console page against the API it reads.

The registry and inspection run in-process (bench/inspection.py's stack); 1,000 merchants each
get a major risk, so inspection holds 1,000 open tasks in one district. The console runs
in-process too, reaching the services through an in-process transport, with a session made
directly in its store for an inspector of that district (sign-in is not what is measured).
Baseline of the same run: `GET /tasks?state=open&limit=1000` on the inspection API, the call
the page makes first. Reported: p50 and p95 of each, and the page/API ratio.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import time
import uuid
from typing import Any

import httpx
from itsdangerous import TimestampSigner

from bench.inspection import SIGNER, running_stack
from services.console.app import build as build_console
from services.console.sessions import Session
from services.console.settings import ConsoleSettings
from services.runtime.auth import decode_unverified, principal_from_claims
from tests.support.signing import ISSUER


class Routed(httpx.AsyncBaseTransport):
    """Requests to http://<service>/… go to that service's app, in-process."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transports[request.url.host].handle_async_request(request)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def task_list(
    kafka: str, database_url: str, tasks: int = 1000, rounds: int = 100
) -> dict[str, float]:
    async with running_stack(kafka, database_url, tasks) as stack:
        await stack.raise_risks(rate=2000.0)
        await stack.wait_for_tasks(tasks, within=300)
        secret = uuid.uuid4().hex
        settings = ConsoleSettings(
            oidc_issuer=ISSUER,
            oidc_jwks=SIGNER.jwks_json(),
            session_secret=secret,
            registry_url="http://registry",
            inspection_url="http://inspection",
        )
        console = build_console(
            settings, Routed({"registry": stack.registry_app, "inspection": stack.inspection_app})
        )
        token = SIGNER.token("inspector", stack.district)
        sid = uuid.uuid4().hex
        console.state.sessions.put(
            Session(
                sid, principal_from_claims(decode_unverified(token)), token, "", time.time() + 3600
            )
        )
        cookie = TimestampSigner(secret).sign(base64.b64encode(json.dumps({"sid": sid}).encode()))
        page_times: list[float] = []
        api_times: list[float] = []
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=console),
                base_url="http://console",
                cookies={"sentinel_session": cookie.decode()},
            ) as browser,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=stack.inspection_app),
                base_url="http://inspection",
                headers={"Authorization": f"Bearer {token}"},
            ) as api,
        ):
            first = await browser.get("/staff/tasks")
            assert first.status_code == 200, first.text[:300]
            shown = first.text.count('data-task="')
            assert shown == tasks, f"the page lists {shown} tasks, not {tasks}"
            for _ in range(rounds):
                began = time.perf_counter()
                r = await api.get("/tasks", params={"state": "open", "limit": 1000})
                r.raise_for_status()
                api_times.append(time.perf_counter() - began)
                began = time.perf_counter()
                r = await browser.get("/staff/tasks")
                r.raise_for_status()
                page_times.append(time.perf_counter() - began)
        return {
            "tasks": tasks,
            "page_p50_ms": statistics.median(page_times) * 1000,
            "page_p95_ms": _percentile(page_times, 95) * 1000,
            "api_p50_ms": statistics.median(api_times) * 1000,
            "api_p95_ms": _percentile(api_times, 95) * 1000,
            "page_bytes": len(first.content),
        }


def main() -> None:
    kafka = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    database_url = os.environ["DATABASE_URL"]
    result = asyncio.run(task_list(kafka, database_url))
    ratio = result["page_p95_ms"] / result["api_p95_ms"]
    print(
        f"console task list, {result['tasks']} open tasks: page p50 {result['page_p50_ms']:.1f} ms"
        f" p95 {result['page_p95_ms']:.1f} ms ({result['page_bytes'] / 1024:.0f} KiB); "
        f"API GET /tasks p50 {result['api_p50_ms']:.1f} ms p95 {result['api_p95_ms']:.1f} ms; "
        f"page/API p95 ratio {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
