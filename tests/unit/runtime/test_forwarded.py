"""A public limit counts the client a trusted proxy names, and only a trusted proxy's word."""

from __future__ import annotations

from typing import ClassVar

import httpx
from fastapi import APIRouter, Depends
from pydantic_settings import SettingsConfigDict

from services.runtime.app import Service, create_app
from services.runtime.ratelimit import rate_limited
from services.runtime.settings import ServiceSettings


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FWDTEST_")
    service_name: ClassVar[str] = "fwdtest"
    default_port: ClassVar[int] = 8196


router = APIRouter()


@router.get("/lookup", dependencies=[Depends(rate_limited("public"))])
async def lookup() -> dict[str, bool]:
    return {"ok": True}


def _client(peer: str, **settings: object) -> httpx.AsyncClient:
    app = create_app(
        Service(_Settings(public_rate_per_s=0.001, public_burst=2, **settings)),  # type: ignore[arg-type]
        [router],
        title="t",
    )
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://s")


async def _codes(c: httpx.AsyncClient, forwarded_for: str | None, n: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return [(await c.get("/lookup", headers=headers)).status_code for _ in range(n)]


async def test_each_citizen_the_console_names_has_a_limit_of_their_own() -> None:
    async with _client("127.0.0.1") as console:
        first = await _codes(console, "203.0.113.7", 3)
        other = await _codes(console, "198.51.100.20", 2)
        # The console's own calls (no header) are a client of their own too.
        own = await _codes(console, None, 2)
    assert (first, other, own) == ([200, 200, 429], [200, 200], [200, 200])


async def test_an_untrusted_peer_cannot_dodge_its_limit_by_naming_others() -> None:
    async with _client("203.0.113.50") as stranger:
        codes = [
            (
                await stranger.get("/lookup", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            ).status_code
            for i in range(3)
        ]
    assert codes == [200, 200, 429]


async def test_the_trusted_peers_are_a_setting() -> None:
    # A load balancer's network trusted, loopback no longer: the same header is now ignored.
    async with _client("127.0.0.1", forwarded_allow_ips="10.20.0.0/16") as console:
        codes = [
            (
                await console.get("/lookup", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            ).status_code
            for i in range(3)
        ]
    async with _client("10.20.3.4", forwarded_allow_ips="10.20.0.0/16") as balancer:
        forwarded = await _codes(balancer, "203.0.113.7, 10.20.9.9", 3)
        another = await _codes(balancer, "198.51.100.1", 1)
    assert codes == [200, 200, 429]
    assert (forwarded, another) == ([200, 200, 429], [200])
