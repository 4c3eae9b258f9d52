"""The store for the asyncio server: every database call on one worker thread, off the loop.

Writes that must survive an outage (a call when it ends, its scorecard) go through the
outbox; everything else is `await store.run(Store.method, ...)`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from models.errors import StoreUnavailable
from models.records import CallRecord, CriterionVerdict
from server.store.dialect import SQLITE_BUSY_TIMEOUT_S
from server.store.outbox import Outbox, PendingWrite, WriteFailure
from server.store.store import Store

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("sparring.store")

DAY_S = 86_400.0
DEFAULT_RETENTION_DAYS = 90  # issue 10, item 8


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where calls are kept and for how long: `--db`, `--data-dir`, `--retention-days`.

    `db` (a postgresql:// URL) wins over `data_dir`; neither: SQLite in the user's data
    directory ($XDG_DATA_HOME/sparring, else ~/.local/share/sparring).
    """

    db: str | None = None
    data_dir: Path | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, got {self.retention_days}")

    @property
    def target(self) -> str | Path | None:
        return self.db if self.db else self.data_dir

    def cutoff(self, now: float) -> float:
        """Calls created before this Unix time are purged."""
        return now - self.retention_days * DAY_S


def open_store(target: str | Path | None = None) -> Store:
    """A synchronous store (for the CLI and benchmarks): see `Store.open`.

    Raises:
        StoreUnavailable: the database cannot be reached, created or migrated.
    """
    return Store.open(target)


class AsyncStore:
    """A `Store` driven from asyncio: one worker thread, and an outbox for the writes
    that must not be lost. Build it with `AsyncStore.open`; `close` it when done.
    """

    def __init__(self, store: Store, executor: ThreadPoolExecutor, outbox: Outbox) -> None:
        self.store = store
        self.outbox = outbox
        self._executor = executor

    @classmethod
    async def open(
        cls,
        target: str | Path | None = None,
        *,
        outbox: Outbox | None = None,
        on_failure: Callable[[WriteFailure], None] | None = None,
        busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S,
    ) -> AsyncStore:
        """Connects and migrates on the worker thread.

        Args:
            target: a postgresql:// URL or an SQLite data directory (see `Store.open`).
            outbox: the outbox to use (tests pass one with short backoff).
            on_failure: told of every write given up on (ignored with `outbox`).
            busy_timeout_s: how long SQLite waits for another writer before a write fails.

        Raises:
            StoreUnavailable: the database cannot be reached at start.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        try:
            store = await asyncio.get_running_loop().run_in_executor(
                executor, functools.partial(Store.open, target, busy_timeout_s=busy_timeout_s)
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(store, executor, outbox or Outbox(on_failure=on_failure))

    async def run(
        self, method: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Runs a `Store` method on the worker thread: `await s.run(Store.rep_calls, rep_id)`."""
        call = functools.partial(method, self.store, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def save_call(self, record: CallRecord) -> bool:
        """Stores an ended call now, or later if the database is away (see `Outbox.submit`).

        Returns:
            True when written now, False when queued.
        """
        return await self.outbox.submit(
            PendingWrite("call", record.session, lambda: self.run(Store.save_call, record))
        )

    async def save_scorecard(
        self,
        session: str,
        scorecard: bytes,
        verdicts: Sequence[CriterionVerdict],
        *,
        at: float | None = None,
    ) -> bool:
        """Stores a call's scorecard now, or later if the database is away.

        Returns:
            True when written now, False when queued.
        """
        scored_at = time.time() if at is None else at  # when it was made, not when it landed
        return await self.outbox.submit(
            PendingWrite(
                "scorecard",
                session,
                lambda: self.run(Store.save_scorecard, session, scorecard, verdicts, at=scored_at),
            )
        )

    async def keep_purging(
        self, config: StoreConfig, every_s: float = DAY_S, clock: Callable[[], float] = time.time
    ) -> None:
        """Purges calls past retention now and every `every_s`, until cancelled.

        An unreachable database skips one round (logged); the next round catches up.
        """
        while True:
            try:
                n = await self.run(Store.purge_before, config.cutoff(clock()))
                if n:
                    log.info("store: purged %d calls older than %d days", n, config.retention_days)
            except StoreUnavailable as exc:
                log.warning("store: retention purge skipped: %s", exc.message)
            await asyncio.sleep(every_s)

    async def close(self, timeout_s: float = 5.0) -> list[WriteFailure]:
        """Gives pending writes `timeout_s` to land, then closes.

        Returns:
            The writes that did not land (also reported to the outbox's on_failure).
        """
        await self.outbox.drain(timeout_s)
        lost = await self.outbox.close()
        await asyncio.get_running_loop().run_in_executor(self._executor, self.store.close)
        self._executor.shutdown(wait=True)
        return lost
