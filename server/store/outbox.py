"""Writes that must not be lost when the database goes away: tried at once, else queued and
retried with backoff until they land, or reported as failed; never dropped in silence.

Bounded, in order (a scorecard never overtakes the call it belongs to). Holds writes in
memory only: a server stopped while the database is away reports what it could not write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from models.errors import SparringError, StoreUnavailable

log = logging.getLogger("sparring.store")

# A 30-minute call writes two rows; 1,000 pending writes are hours of a busy server's calls.
MAX_PENDING = 1000
# First retry soon (a restart of the database takes seconds), then doubling up to 30 s, so
# that an outage of an hour costs ~120 attempts, not thousands.
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0
_FAILURES_KEPT = 100


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One write: `what` and `session` name it in reports; `apply` does it (in the store)."""

    what: str  # "call", "scorecard"
    session: str
    apply: Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class WriteFailure:
    """A write given up on: refused (full, closed) or failed for good (a permanent error)."""

    what: str
    session: str
    error: SparringError


class Outbox:
    """Runs writes now, or queues them while the database is unavailable.

    Args:
        max_pending: writes kept waiting at most; one more is refused.
        first_retry_s, max_retry_s: the backoff between attempts on the head write.
        on_failure: told of every write given up on (the app logs and shows it).
    """

    def __init__(
        self,
        *,
        max_pending: int = MAX_PENDING,
        first_retry_s: float = FIRST_RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
        on_failure: Callable[[WriteFailure], None] | None = None,
    ) -> None:
        self._pending: deque[PendingWrite] = deque()
        self._max_pending = max_pending
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._on_failure = on_failure
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._order = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.failures: deque[WriteFailure] = deque(maxlen=_FAILURES_KEPT)
        self.last_error: StoreUnavailable | None = None  # why the head write is waiting

    @property
    def pending(self) -> int:
        """Writes waiting for the database (0: everything is written)."""
        return len(self._pending)

    async def submit(self, write: PendingWrite) -> bool:
        """Writes now if nothing waits ahead of it and the database answers, else queues it.

        Returns:
            True when written now, False when queued for retry.

        Raises:
            StoreUnavailable: the outbox is full or closed (also reported to on_failure).
            SparringError: a permanent refusal of the write itself (unknown call, say).
        """
        if self._closed:
            raise self._refuse(write, StoreUnavailable("the store is closed"))
        async with self._order:  # two writes at once: the second waits for the first
            if not self._pending:
                try:
                    await write.apply()
                    return True
                except StoreUnavailable as exc:
                    self.last_error = exc
            return self._enqueue(write)

    def _enqueue(self, write: PendingWrite) -> bool:
        if len(self._pending) >= self._max_pending:
            raise self._refuse(
                write,
                StoreUnavailable(
                    f"{len(self._pending)} writes already wait for the database; "
                    f"{write.what} of {write.session} is not kept"
                ),
            )
        self._pending.append(write)
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._retry(), name="store.outbox")
        return False

    async def drain(self, timeout_s: float) -> bool:
        """Waits until nothing is pending; False if writes still wait after `timeout_s`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return not self._pending

    async def close(self) -> list[WriteFailure]:
        """Stops retrying; every write still pending is reported as lost and returned."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        lost = []
        for write in self._pending:
            error = StoreUnavailable(f"closed while waiting for the database: {self.last_error}")
            self._refuse(write, error)
            lost.append(WriteFailure(write.what, write.session, error))
        self._pending.clear()
        self._idle.set()
        return lost

    def _refuse(self, write: PendingWrite, error: SparringError) -> SparringError:
        failure = WriteFailure(write.what, write.session, error)
        self.failures.append(failure)
        log.error("store: %s of call %s not written: %s", write.what, write.session, error.message)
        if self._on_failure is not None:
            self._on_failure(failure)
        return error

    async def _retry(self) -> None:
        delay_s = self._first_retry_s
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep(delay_s)
            head = self._pending[0]
            try:
                await head.apply()
            except StoreUnavailable as exc:
                self.last_error = exc
                delay_s = min(delay_s * 2, self._max_retry_s)
                continue
            except SparringError as exc:
                self._pending.popleft()
                self._refuse(head, exc)
                continue
            self._pending.popleft()
            self.last_error = None
            delay_s = self._first_retry_s
            log.info("store: %s of call %s written after a wait", head.what, head.session)
