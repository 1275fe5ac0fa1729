"""PostgreSQL access: one asyncpg pool per service, confined to the service's own schema."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import orjson

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """A schema name is the one identifier we interpolate into SQL; only plain names pass."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


class OnConnection:
    """A Postgres store: its queries run on the connection (and so in the transaction) of the
    unit of work that made it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn


async def init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects, through orjson rather than the stdlib json.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        format="text",
    )


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> Any:
    """A pool whose connections see the service's schema first, then `public`."""
    async with connect(dsn) as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        server_settings={"search_path": f"{schema},public", "application_name": schema},
    )


class connect:
    """A single connection outside any pool (schema creation, migrations, test set-up)."""

    def __init__(self, dsn: str, **kwargs: Any) -> None:
        self.dsn, self.kwargs = dsn, kwargs
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await asyncpg.connect(self.dsn, **self.kwargs)
        await init_connection(self.conn)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        if self.conn is not None:
            await self.conn.close()
