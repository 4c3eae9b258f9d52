"""Versioned schema migrations: numbered SQL files applied in order, each recorded once.

Applied at every start, for SQLite and PostgreSQL alike; applying them again is a no-op.
A database written by a newer Sparring is refused rather than guessed at.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

from models.errors import StoreUnavailable
from server.store.dialect import Dialect

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str  # with {blob} for the database's binary type

    def statements(self, blob_type: str) -> list[str]:
        """The file's statements, comments dropped (no string literal holds `--` or `;`)."""
        text = re.sub(r"--[^\n]*", "", self.sql).replace("{blob}", blob_type)
        return [s.strip() for s in text.split(";") if s.strip()]


def migrations() -> list[Migration]:
    """Every migration this Sparring ships, oldest first."""
    found = []
    for entry in resources.files("server.store").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    return max(m.version for m in migrations())


def migrate(db: Dialect) -> list[int]:
    """Brings the schema up to date in one transaction.

    Returns:
        The versions applied now (empty when the schema was current).

    Raises:
        StoreUnavailable: the database holds a schema newer than this Sparring knows.
    """
    applied_now = []
    with db.transaction():
        db.lock_migrations()
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at DOUBLE PRECISION NOT NULL)"
        )
        applied = {row[0] for row in db.execute("SELECT version FROM schema_version").fetchall()}
        known = migrations()
        newest = max(m.version for m in known)
        if applied and max(applied) > newest:
            raise StoreUnavailable(
                f"{db.describe()} has schema version {max(applied)}; this Sparring knows up to "
                f"{newest}: upgrade Sparring"
            )
        for migration in known:
            if migration.version in applied:
                continue
            for statement in migration.statements(db.blob_type):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            applied_now.append(migration.version)
    return applied_now
