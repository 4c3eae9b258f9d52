"""Opening a store: migrations (applied once, twice is a no-op), the default data directory,
and a clear coded error when the database cannot be reached at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import StoreUnavailable, UnknownSession
from server.store import Store, StoreConfig, open_store
from server.store.dialect import DB_FILE, default_data_dir
from server.store.migrate import latest_version, migrations


def test_migrations_numbered_from_one_without_gaps():
    versions = [m.version for m in migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_open_applies_every_migration_once(store: Store):
    assert store.applied_migrations() == list(range(1, latest_version() + 1))
    assert store.schema_version() == latest_version()


def test_migrations_applied_twice_are_a_no_op(target, store: Store):
    assert store.migrate() == []
    again = target.open()  # a second start on the same database
    try:
        assert again.applied_migrations() == store.applied_migrations()
        assert again.migrate() == []
    finally:
        again.close()


def test_data_kept_across_restarts(target, make_call):
    first = target.open()
    first.save_call(make_call("kept"))
    first.close()
    second = target.open()
    try:
        assert second.call("kept").title == "Discovery kept"
    finally:
        second.close()


def test_newer_schema_refused(target, store: Store):
    store._run(
        lambda: store._db.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (latest_version() + 1, "from_the_future", 0.0),
        )
    )
    with pytest.raises(StoreUnavailable, match="upgrade Sparring") as e:
        target.open()
    assert e.value.code == "store_unavailable"


def test_sqlite_creates_directory_and_file(tmp_path: Path):
    data_dir = tmp_path / "a" / "b"
    store = open_store(data_dir)
    store.close()
    assert (data_dir / DB_FILE).is_file()


def test_sqlite_default_data_dir_follows_xdg(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "sparring"
    open_store(StoreConfig().target).close()
    assert (tmp_path / "sparring" / DB_FILE).is_file()


def test_sqlite_unusable_directory_is_a_coded_error(tmp_path: Path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="cannot open SQLite database") as e:
        Store.open(tmp_path / "file" / "data")
    assert e.value.code == "store_unavailable"


def test_postgres_nobody_listening_is_a_coded_error():
    with pytest.raises(StoreUnavailable, match="cannot connect to postgresql://127.0.0.1:1/x"):
        Store.open("postgresql://postgres:secret@127.0.0.1:1/x")


def test_postgres_error_hides_the_password():
    with pytest.raises(StoreUnavailable) as e:
        Store.open("postgresql://postgres:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in e.value.message


def test_postgres_missing_database_is_a_coded_error(pg_server):
    with pytest.raises(StoreUnavailable, match="does not exist"):
        Store.open(pg_server.url("sparring_no_such_database"))


def test_postgres_schemas_keep_stores_apart(pg_server, make_call):
    one, two = Store.open(pg_server.create_schema()), Store.open(pg_server.create_schema())
    try:
        one.save_call(make_call("c1"))
        with pytest.raises(UnknownSession):
            two.call("c1")
    finally:
        one.close()
        two.close()


def test_store_config_prefers_db_and_computes_cutoff(tmp_path: Path):
    assert StoreConfig(db="postgresql://h/d", data_dir=tmp_path).target == "postgresql://h/d"
    assert StoreConfig(data_dir=tmp_path).target == tmp_path
    assert StoreConfig(retention_days=90).cutoff(100 * 86_400.0) == 10 * 86_400.0
    with pytest.raises(ValueError, match="at least 1, got 0"):
        StoreConfig(retention_days=0)
