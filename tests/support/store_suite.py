"""What every store suite shares: the two backends it runs on and a migrated, rolled-back
connection for the Postgres one (tests/integration/<service>/test_*store_suite.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from services.runtime.db import connect, ident
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate

BACKENDS = ["postgres", "fake"]


def backend_database(request: pytest.FixtureRequest) -> str | None:
    """The database of the `postgres` run; None for the `fake` run (which needs no stack)."""
    if request.param == "fake":
        return None
    url: str = request.getfixturevalue("database_url")
    return url


@asynccontextmanager
async def migrated(
    database_url: str, name: str, migrations: Mapping[str, Path], *, runtime: bool = True
) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh schema with `migrations` applied (the runtime's first), inside a
    transaction that is rolled back: each test starts from empty tables."""
    schema = f"{name}_suite_{uuid.uuid4().hex[:8]}"
    components = {"runtime": RUNTIME_MIGRATIONS, **migrations} if runtime else dict(migrations)
    await migrate(database_url, schema, components)
    async with connect(database_url) as conn:
        await conn.execute(f"SET search_path TO {ident(schema)}, public")
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        finally:
            await tx.rollback()
