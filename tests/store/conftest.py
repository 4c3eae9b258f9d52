"""Store fixtures: every test runs on SQLite (tmp_path) and on the real PostgreSQL.

PostgreSQL tests get a fresh database each, dropped afterwards; they are skipped, with
the reason, only when no PostgreSQL answers (SPARRING_TEST_PG names another server than
postgresql://postgres@127.0.0.1:5432/postgres). No mocks: both databases are real.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from models.records import CallMeasures, CallRecord, ParticipantName
from models.report import ConsentRecord
from models.wire import Role, RoleTokens
from server.store import Store

PG_ADMIN_URL = os.environ.get("SPARRING_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASES = ["sqlite", "postgresql"]
DAY_S = 86_400.0
T0 = 1_750_000_000.0  # a fixed Unix time: the store takes times as arguments


def _pg_unreachable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[db]')"
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL answers at {PG_ADMIN_URL}: {str(exc).strip()[:120]}"
    return None


class PgServer:
    """Admin access to the test server: one database for the run (dropped after it), a
    fresh schema in it for each test, and outages on demand.
    """

    def __init__(self) -> None:
        import psycopg

        self._psycopg = psycopg
        self._admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        self.database = f"sparring_test_{secrets.token_hex(4)}"
        self._admin.execute(f'CREATE DATABASE "{self.database}"')

    def url(self, database: str, schema: str | None = None) -> str:
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"{base}/{database}{options}"

    def create_schema(self) -> str:
        """A new, empty schema; the URL of the database with it as the search path."""
        schema = f"t_{secrets.token_hex(4)}"
        with self._psycopg.connect(self.url(self.database), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return self.url(self.database, schema)

    def drop_schema(self, url: str) -> None:
        schema = url.rsplit("%3D", 1)[1]
        with self._psycopg.connect(self.url(self.database), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    def cut_off(self) -> None:
        """The database goes away: connections refused, open ones killed."""
        self._admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
        self._admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        )

    def restore(self) -> None:
        self._admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.restore()
        self._admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    reason = _pg_unreachable()
    if reason is not None:
        pytest.skip(reason)
    server = PgServer()
    yield server
    server.close()


class Target:
    """Where one test's store lives, and how to take it away and give it back."""

    def __init__(
        self, kind: str, location: str | Path, pg: PgServer | None, busy_timeout_s: float
    ) -> None:
        self.kind = kind
        self.location = location
        self._pg = pg
        self._blocker: object = None
        self.is_cut_off = False
        self.busy_timeout_s = busy_timeout_s

    def open(self) -> Store:
        return Store.open(self.location, busy_timeout_s=self.busy_timeout_s)

    def cut_off(self) -> None:
        """SQLite: another connection holds the write lock. PostgreSQL: connections refused."""
        self.is_cut_off = True
        if self._pg is not None:
            self._pg.cut_off()
            return
        import sqlite3

        blocker = sqlite3.connect(Path(self.location) / "sparring.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        self._blocker = blocker

    def restore(self) -> None:
        self.is_cut_off = False
        if self._pg is not None:
            self._pg.restore()
            return
        import sqlite3

        assert isinstance(self._blocker, sqlite3.Connection)
        self._blocker.execute("ROLLBACK")
        self._blocker.close()
        self._blocker = None


@pytest.fixture(params=DATABASES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A fresh, empty place for a store: an SQLite directory or a new PostgreSQL schema."""
    if request.param == "sqlite":
        place = Target("sqlite", tmp_path / "data", None, busy_timeout_s=0.05)
        yield place
        if place.is_cut_off:
            place.restore()
        return
    pg: PgServer = request.getfixturevalue("pg_server")
    url = pg.create_schema()
    place = Target("postgresql", url, pg, busy_timeout_s=0.05)
    yield place
    if place.is_cut_off:
        place.restore()
    pg.drop_schema(url)


@pytest.fixture
def store(target: Target) -> Iterator[Store]:
    s = target.open()
    yield s
    s.close()


MakeCall = Callable[..., CallRecord]


@pytest.fixture
def make_call() -> MakeCall:
    """Builds a `CallRecord`: its tokens are `<session>.rep`, `.customer`, `.observer`."""

    def _make(
        session: str = "c1",
        *,
        rep_id: str | None = None,
        created_at: float = T0,
        measures: CallMeasures | None = None,
        report: bytes | None = None,
    ) -> CallRecord:
        report_doc = {"session": session, "talk": {"rep": 0.6, "customer": 0.4}, "nudges": []}
        return CallRecord(
            session=session,
            node="",
            title=f"Discovery {session}",
            language="en",
            playbook="default",
            created_at=created_at,
            ended_at=created_at + 600,
            duration_audio_s=600.0,
            rep_id=rep_id,
            participants=(
                ParticipantName(role=Role.REP, name="Anna"),
                ParticipantName(role=Role.CUSTOMER, name="Bob"),
            ),
            tokens=RoleTokens(
                rep=f"{session}.rep", customer=f"{session}.customer", observer=f"{session}.observer"
            ),
            report=report if report is not None else msgspec.json.encode(report_doc),
            customer_view=msgspec.json.encode({"session": session, "withheld": "coaching"}),
            observer_view=msgspec.json.encode({"session": session, "withheld": "ledger"}),
            consent=(
                ConsentRecord(
                    participant="p1",
                    role=Role.REP,
                    name="Anna",
                    granted=True,
                    scopes=("coaching", "transcript"),
                    on_behalf_of=None,
                    given_by="Anna",
                    audio_time_s=0.0,
                    wall_time=created_at,
                ),
                ConsentRecord(
                    participant="p2",
                    role=Role.CUSTOMER,
                    name="Bob",
                    granted=True,
                    scopes=("coaching",),
                    on_behalf_of=None,
                    given_by="Bob",
                    audio_time_s=1.5,
                    wall_time=created_at + 1.5,
                ),
            ),
            measures=measures
            or CallMeasures(
                talk_share_rep=0.6,
                longest_monologue_s=42.0,
                questions_open=3,
                questions_closed=5,
                interruptions=2,
                nudges_by_rule={"talk_ratio": 2, "monologue": 1},
            ),
        )

    return _make
