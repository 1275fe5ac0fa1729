"""Versioned SQL migrations: `NNNN_name.sql` files applied in order, each once, in a transaction.

The runtime's own tables (outbox, inbox) are the `runtime` component and go first; a service's
files are its own component. An advisory lock keeps replicas that start together from racing,
and a checksum catches a migration edited after it was applied.
"""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from services.runtime.db import connect, ident

log = logging.getLogger(__name__)
RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def discover(component: str, folder: Path) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_name.sql")
        found.append(Migration(component, int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{folder}: two migrations share a version")
    return found


async def migrate(dsn: str, schema: str, folders: dict[str, Path]) -> list[Migration]:
    """Apply what is pending; returns the migrations applied by this call."""
    plan = [m for component, folder in folders.items() for m in discover(component, folder)]
    applied: list[Migration] = []
    lock_key = zlib.crc32(f"migrate:{schema}".encode())
    async with connect(dsn) as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
        await conn.execute(f"SET search_path TO {ident(schema)}, public")
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       component text NOT NULL,
                       version integer NOT NULL,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (component, version))"""
            )
            done = {
                (r["component"], r["version"]): r["checksum"]
                for r in await conn.fetch(
                    "SELECT component, version, checksum FROM schema_migrations"
                )
            }
            for m in plan:
                previous = done.get((m.component, m.version))
                if previous is not None:
                    if previous != m.checksum:
                        raise MigrationError(
                            f"{m.component} {m.version:04d}_{m.name} changed after it was applied;"
                            " add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name, checksum)"
                        " VALUES ($1, $2, $3, $4)",
                        m.component,
                        m.version,
                        m.name,
                        m.checksum,
                    )
                log.info(
                    "migration applied", extra={"component": m.component, "version": m.version}
                )
                applied.append(m)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied
