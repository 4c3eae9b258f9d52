"""Secrets at the edge: the trainer key, who may fetch a session's report over HTTP, and
the short-lived links that open a report without a token in the URL.

Compares secrets in constant time. Reads no consent scope: what each role may see is the
core's audience policy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
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


# A report link opens the report this long after it was made: time to open or print it,
# while one that leaks (a browser's history, a proxy's access log) soon opens nothing.
REPORT_LINK_S = 600
# `role.expires_at.mac`: a role's name, whole seconds (one spelling: no leading zero), the
# 43 characters of an unpadded base64url SHA-256.
_LINK = re.compile(r"^(rep|customer|observer|trainer)\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$")


class ReportLinks:
    """Signs and checks short-lived links to a report.

    A link is an HMAC-SHA256, with a secret made for this process, over the session id, the
    role whose view it opens (`Role.TRAINER`: the trainer key's) and its expiry. It keeps no
    state: it dies when it expires or when the process restarts, and opens on the node that
    made it only (the report paths of a call reach its node: docs/protocol.md, Many nodes).

    Args:
        secret: The signing key; None: 32 random bytes.
        clock: Monotonic seconds (expiry is never compared across processes).
        lifetime_s: How long a link opens the report.
    """

    def __init__(
        self,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
        lifetime_s: int = REPORT_LINK_S,
    ) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.clock = clock
        self.lifetime_s = lifetime_s

    def make(self, session_id: str, reader: Role) -> str:
        """A link for `reader`'s view of `session_id`, open for `lifetime_s`."""
        expires_at = math.ceil(self.clock()) + self.lifetime_s
        return f"{reader.value}.{expires_at}.{self._mac(session_id, reader.value, expires_at)}"

    def reader(self, session_id: str, link: str) -> Role | None:
        """Whose view `link` opens of `session_id`; None for an expired, altered or foreign
        link, or one of another session (any string is an answer, never an error)."""
        match = _LINK.match(link)
        if match is None:
            return None
        role, expires_at, mac = match.group(1), int(match.group(2)), match.group(3)
        if not same_secret(mac, self._mac(session_id, role, expires_at)):
            return None
        if self.clock() >= expires_at:
            return None
        return Role(role)

    def _mac(self, session_id: str, role: str, expires_at: int) -> str:
        signed = f"report\n{session_id}\n{role}\n{expires_at}".encode()
        digest = hmac.digest(self._secret, signed, hashlib.sha256)
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class ReportAccess:
    """The report a token may read: any join token of the session, or the trainer key; and
    the short-lived links that open the same view.

    Args:
        hub: Open and recently ended sessions, and their tokens.
        trainer_key: The server's trainer key; None or empty: none.
        archive: Calls kept in the store, for a report asked for after this node forgot
            the call (a restart); None: memory only.
        links: Signs report links; None: a new signer (its own secret).
    """

    def __init__(
        self,
        hub: SessionHub,
        trainer_key: str | None,
        archive: Archive | None = None,
        links: ReportLinks | None = None,
    ) -> None:
        self._hub = hub
        self._trainer_key = trainer_key
        self._archive = archive
        self.links = links or ReportLinks()

    @property
    def link_lifetime_s(self) -> int:
        """How long a link opens the report."""
        return self.links.lifetime_s

    async def report(self, session_id: str, token: str) -> SessionReport | SharedReport | None:
        """The report of `session_id` as `token` may read it; None for no such session or a
        wrong token (one answer for both, so that session ids cannot be probed).

        How much a role reads is the audience policy's decision (server/core/audience.py);
        the trainer key reads as a trainer, who needs both parties' trainer view. A kept
        call serves the views the policy made when it ended.
        """
        reader = await self._reader(session_id, token)
        if reader is None:
            return None
        return await self._report_as(session_id, reader)

    async def link(self, session_id: str, token: str) -> str | None:
        """A short-lived link to what `token` may read of `session_id`; None where `report`
        answers None (no link for a report the token cannot read)."""
        reader = await self._reader(session_id, token)
        if reader is None or await self._report_as(session_id, reader) is None:
            return None
        return self.links.make(session_id, reader)

    async def report_by_link(
        self, session_id: str, link: str
    ) -> SessionReport | SharedReport | None:
        """The report a link opens: the view of the role it was made for, as it is now (an
        erased call opens nothing); None for an expired, altered or foreign link."""
        reader = self.links.reader(session_id, link)
        if reader is None:
            return None
        return await self._report_as(session_id, reader)

    async def _reader(self, session_id: str, token: str) -> Role | None:
        """Whose view `token` reads: its role in the call, `Role.TRAINER` for the trainer
        key, the rep's for the personal link of the rep whose call it is; None: nobody's."""
        trainer = bool(self._trainer_key) and same_secret(token, self._trainer_key or "")
        session = self._hub.get(session_id)
        if session is not None and session.forgotten:
            return None
        if session is not None:
            role = self._hub.token_role(session_id, token)
            if role is not None:
                return role
            if trainer:
                return Role.TRAINER
            if self._archive is not None and await self._archive.owned_by(session_id, token):
                return Role.REP  # the rep's personal link
            return None
        if self._archive is None:
            return None
        if trainer:
            return Role.TRAINER
        return await self._archive.role_of(session_id, token)

    async def _report_as(
        self, session_id: str, reader: Role
    ) -> SessionReport | SharedReport | None:
        session = self._hub.get(session_id)
        if session is not None:
            if session.forgotten:
                return None
            return session.report_for(None if reader is Role.TRAINER else reader)
        if self._archive is None:
            return None
        return await self._archive.stored_report_as(
            session_id, None if reader is Role.TRAINER else reader
        )


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
