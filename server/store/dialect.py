"""The two databases behind one code path: how to connect, lock, bind and classify errors.

Everything else in the store writes portable SQL with `?` placeholders; this module is
the only one that imports a driver, and the only one that knows which database it is.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from models.errors import StoreUnavailable

DB_FILE = "sparring.db"
# SQLite waits this long for another writer's lock before the write counts as failed.
SQLITE_BUSY_TIMEOUT_S = 5.0
# A PostgreSQL server that does not answer within this is unreachable (libpq's own default
# is to wait forever).
PG_CONNECT_TIMEOUT_S = 5

Row = tuple[Any, ...]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...


def default_data_dir() -> Path:
    """Where SQLite lives without `--data-dir`: $XDG_DATA_HOME/sparring, else ~/.local/share."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sparring"


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class Dialect:
    """One open connection and its database's ways; see `SQLite` and `Postgres`.

    Not thread-safe: the store calls it from one thread at a time.
    """

    name: str
    blob_type: str

    def connect(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def lock_migrations(self) -> None:
        """Within a transaction: keeps a second server from migrating at the same time."""

    def is_conflict(self, exc: Exception) -> bool:
        """Whether `exc` is a uniqueness or reference violation (the caller names it)."""
        raise NotImplementedError

    def unavailable(self, exc: Exception) -> StoreUnavailable | None:
        """The coded error when `exc` means the database is out of reach (then the connection
        is dropped, to be opened again on the next call); None for any other exception.
        """
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class SQLite(Dialect):
    """A file in a data directory, created (with the directory) on first start."""

    name = "sqlite"
    blob_type = "BLOB"

    def __init__(self, data_dir: Path, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> None:
        self.path = data_dir / DB_FILE
        self._busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None

    def connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,  # transactions are explicit: see `transaction`
                check_same_thread=False,  # one thread at a time, not always the same one
            )
            conn.execute("PRAGMA foreign_keys = ON")
            # WAL: readers do not wait for the writer, and a commit costs one fsync.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        return self._conn.execute(sql, tuple(params))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so two writers wait instead of deadlocking.
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def is_conflict(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.IntegrityError)

    def unavailable(self, exc: Exception) -> StoreUnavailable | None:
        if isinstance(exc, sqlite3.OperationalError):
            # Locked, read-only, disk full, I/O error: the file may be fine again later.
            self.close()
            return StoreUnavailable(f"SQLite database {self.path}: {exc}")
        return None

    def describe(self) -> str:
        return f"sqlite:{self.path}"


class Postgres(Dialect):
    """A PostgreSQL server named by a libpq URL; reconnects on the next call after a loss."""

    name = "postgresql"
    blob_type = "BYTEA"

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    def _driver(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise StoreUnavailable(
                "PostgreSQL needs the psycopg driver: pip install 'sparring[db]'"
            ) from exc
        return psycopg

    def connect(self) -> None:
        psycopg = self._driver()
        try:
            self._conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to {self.describe()}: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self._conn is None or self._conn.closed:
            self.connect()
        # Our SQL holds no literal `?` or `%`: the placeholders are all there is to swap.
        cursor: Cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params))
        return cursor

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._conn is None or self._conn.closed:
            self.connect()
        with self._conn.transaction():
            yield

    def lock_migrations(self) -> None:
        # Any constant shared by all Sparring servers; released when the transaction ends.
        self.execute("SELECT pg_advisory_xact_lock(7150616972)")

    def is_conflict(self, exc: Exception) -> bool:
        return isinstance(exc, self._driver().IntegrityError)

    def unavailable(self, exc: Exception) -> StoreUnavailable | None:
        psycopg = self._driver()
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            self.close()
            return StoreUnavailable(f"lost {self.describe()}: {exc}")
        return None

    def describe(self) -> str:
        # The URL without a password, for messages and logs.
        psycopg = self._driver()
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.url)
        except psycopg.Error:
            return "postgresql (unparsable URL)"
        return (
            f"postgresql://{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        )


def dialect_for(
    target: str | Path | None, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S
) -> Dialect:
    """PostgreSQL for a postgresql:// URL, else SQLite in the directory (None: the default).

    `busy_timeout_s` is how long SQLite waits for another writer's lock.
    """
    if isinstance(target, str) and is_postgres_url(target):
        return Postgres(target)
    data_dir = Path(target) if target is not None else default_data_dir()
    return SQLite(data_dir, busy_timeout_s)
