"""What `create_app(state=...)` wires, the routes read through `state(name)`."""

from __future__ import annotations

from typing import Annotated, ClassVar

import httpx
from fastapi import APIRouter, Depends
from pydantic_settings import SettingsConfigDict

from services.runtime.app import Service, create_app, state
from services.runtime.settings import ServiceSettings


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="STATETEST_")
    service_name: ClassVar[str] = "statetest"
    default_port: ClassVar[int] = 8197


class Greeter:
    def __init__(self, word: str) -> None:
        self.word = word


router = APIRouter()


@router.get("/greet")
async def greet(greeter: Annotated[Greeter, Depends(state("greeter"))]) -> dict[str, str]:
    return {"word": greeter.word}


async def test_a_route_reads_what_the_app_was_given_by_name() -> None:
    app = create_app(Service(_Settings()), [router], title="t", state={"greeter": Greeter("你好")})
    # ASGITransport runs no lifespan: the service is never started, the routes still answer.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        answer = await c.get("/greet")
    assert (answer.status_code, answer.json()) == (200, {"word": "你好"})
