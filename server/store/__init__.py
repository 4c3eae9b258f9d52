"""Calls, scorecards, evaluations, groups and reps kept in SQLite or PostgreSQL (never audio).

`open_store(url_or_dir)` for synchronous use, `AsyncStore.open(...)` for the server;
docs/storage.md describes the schema, migrations and retention.
"""

from server.store.aio import AsyncStore, StoreConfig, open_store
from server.store.measures import measures_from_report, verdicts_from_scorecard
from server.store.outbox import Outbox, PendingWrite, WriteFailure
from server.store.store import Store

__all__ = [
    "AsyncStore",
    "Outbox",
    "PendingWrite",
    "Store",
    "StoreConfig",
    "WriteFailure",
    "measures_from_report",
    "open_store",
    "verdicts_from_scorecard",
]
