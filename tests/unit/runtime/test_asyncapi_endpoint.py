"""Every service serves the committed contracts: GET /asyncapi.yaml, /asyncapi.json and the
event JSON Schemas beside it, from `create_app` (no service start needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import yaml
from pydantic_settings import SettingsConfigDict

import contracts
from services.runtime.app import Service, create_app
from services.runtime.settings import ServiceSettings

CONTRACTS = Path(contracts.__file__).resolve().parent


class DocSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DOCTEST_")
    service_name: ClassVar[str] = "doctest"
    default_port: ClassVar[int] = 8198


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Service(DocSettings()), title="doctest")
    # ASGITransport runs no lifespan: the service is never started, the routes still answer.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
        yield c


async def test_the_committed_asyncapi_document_is_served_as_yaml_and_json(
    client: httpx.AsyncClient,
) -> None:
    committed = (CONTRACTS / "asyncapi.yaml").read_bytes()
    as_yaml = await client.get("/asyncapi.yaml")
    assert as_yaml.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert as_yaml.content == committed

    as_json = await client.get("/asyncapi.json")
    assert as_json.status_code == 200
    document = as_json.json()
    assert document == yaml.safe_load(committed)
    assert document["asyncapi"].startswith("3.")
    assert "telemetry.risks.v1" in {c["address"] for c in document["channels"].values()}


async def test_the_event_schemas_are_served_and_nothing_else(
    client: httpx.AsyncClient,
) -> None:
    name = "telemetry.risk.raised.v1.json"
    found = await client.get(f"/schemas/{name}")
    assert found.status_code == 200
    assert found.content == (CONTRACTS / "schemas" / name).read_bytes()
    for bad in ("nope.v1.json", "..%2Fasyncapi.yaml", "..%2F..%2Fpyproject.toml", "README.md"):
        assert (await client.get(f"/schemas/{bad}")).status_code == 404, bad


async def test_the_document_is_listed_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/asyncapi.yaml", "/asyncapi.json"} <= set(paths)
