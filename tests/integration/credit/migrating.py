"""A credit schema migrated up to just before one migration, then through it: how a migration
meets the rows an older release stored."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from services.credit.app import MIGRATIONS
from services.runtime.db import connect, ident
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate


class Before:
    """`await Before.made(url, tmp_path, "0007_credit_repairs.sql")`: a fresh schema with every
    credit migration older than that one; `connected()` opens a connection on it, `through()`
    applies the migration and answers the names applied, `drop()` removes the schema."""

    def __init__(self, database_url: str, folder: Path, migration: str, schema: str) -> None:
        self.database_url, self.folder, self.migration, self.schema = (
            database_url,
            folder,
            migration,
            schema,
        )

    @classmethod
    async def made(cls, database_url: str, tmp_path: Path, migration: str) -> Before:
        folder = tmp_path / "credit"
        folder.mkdir()
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name < migration:
                shutil.copy(path, folder)
        schema = f"credit_before_{migration[:4]}_{uuid.uuid4().hex[:8]}"
        before = cls(database_url, folder, migration, schema)
        await before._migrate()
        return before

    async def _migrate(self) -> list[str]:
        folders = {"runtime": RUNTIME_MIGRATIONS, "credit": self.folder}
        return [m.name for m in await migrate(self.database_url, self.schema, folders)]

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[asyncpg.Connection]:
        async with connect(self.database_url) as conn:
            await conn.execute(f"SET search_path TO {ident(self.schema)}, public")
            yield conn

    async def through(self) -> list[str]:
        shutil.copy(MIGRATIONS / self.migration, self.folder)
        return await self._migrate()

    async def drop(self) -> None:
        async with connect(self.database_url) as conn:
            await conn.execute(f"DROP SCHEMA {ident(self.schema)} CASCADE")
