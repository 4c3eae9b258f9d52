"""Secrets at the edge: the trainer key, and who may fetch a session's report over HTTP.

Compares secrets in constant time. Reads no consent scope: what each role may see is the
core's decision.
"""

from __future__ import annotations

import hmac

from models.report import SessionReport
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
    """

    def __init__(self, hub: SessionHub, trainer_key: str | None) -> None:
        self._hub = hub
        self._trainer_key = trainer_key

    def report(self, session_id: str, token: str) -> SessionReport | None:
        """The report of `session_id` for `token`; None for no such session or a wrong token.

        The two misses are one answer, so that session ids cannot be probed.
        """
        session = self._hub.get(session_id)
        if session is None:
            return None
        allowed = self._hub.token_role(session_id, token) is not None
        if not allowed and self._trainer_key:
            allowed = same_secret(token, self._trainer_key)
        return session.report() if allowed else None
