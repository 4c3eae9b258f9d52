"""Secrets at the edge: the trainer key, and who may fetch a session's report over HTTP.

Compares secrets in constant time. Reads no consent scope: what each role may see is the
core's audience policy.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable

from models.report import SessionReport, SharedReport
from models.wire import Role
from server.archive import Archive
from server.core.hub import SessionHub


def same_secret(given: str, expected: str) -> bool:
    """Compares a secret a client sent with the configured one, in constant time.

    Works on UTF-8 bytes, so any string a client sends is compared, never raises.
    """
    return hmac.compare_digest(given.encode(), expected.encode())


class ReportAccess:
    """The report a token may read: any join token of the session, or the trainer key.

    Args:
        hub: Open and recently ended sessions, and their tokens.
        trainer_key: The server's trainer key; None or empty: none.
        archive: Calls kept in the store, for a report asked for after this node forgot
            the call (a restart); None: memory only.
    """

    def __init__(
        self, hub: SessionHub, trainer_key: str | None, archive: Archive | None = None
    ) -> None:
        self._hub = hub
        self._trainer_key = trainer_key
        self._archive = archive

    async def report(self, session_id: str, token: str) -> SessionReport | SharedReport | None:
        """The report of `session_id` as `token` may read it; None for no such session or a
        wrong token (one answer for both, so that session ids cannot be probed).

        How much a role reads is the audience policy's decision (server/core/audience.py);
        the trainer key reads as a trainer, who needs both parties' trainer view. A kept
        call serves the views the policy made when it ended.
        """
        trainer = bool(self._trainer_key) and same_secret(token, self._trainer_key or "")
        session = self._hub.get(session_id)
        if session is not None and session.forgotten:
            return None
        if session is not None:
            role = self._hub.token_role(session_id, token)
            if role is not None:
                return session.report_for(role)
            if trainer:
                return session.report_for(None)
            if self._archive is not None and await self._archive.owned_by(session_id, token):
                return session.report_for(Role.REP)  # the rep's personal link
            return None
        if self._archive is None:
            return None
        return await self._archive.stored_report(session_id, None if trainer else token)


# Wrong trainer keys one address may send before it must wait; then the wait doubles.
FREE_TRIES = 5
MAX_WAIT_S = 300.0
_TRACKED_ADDRESSES = 10_000


class KeyGuard:
    """Slows down guessing of the trainer key, per client address.

    After `FREE_TRIES` wrong keys an address waits 1 s, then 2, 4, … up to 5 minutes before
    a key it sends is looked at again; a right key clears its record.

    Args:
        clock: Monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # n, last at

    def wait_s(self, address: str) -> float:
        """How long `address` must still wait before its next key is looked at."""
        entry = self._failures.get(address)
        if entry is None or entry[0] < FREE_TRIES:
            return 0.0
        failures, last_at = entry
        lockout_s = min(MAX_WAIT_S, 2.0 ** (failures - FREE_TRIES))
        return max(0.0, last_at + lockout_s - self._clock())

    def failed(self, address: str) -> None:
        failures, _ = self._failures.pop(address, (0, 0.0))
        self._failures[address] = (failures + 1, self._clock())
        while len(self._failures) > _TRACKED_ADDRESSES:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)
