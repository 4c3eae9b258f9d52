"""Secrets at the edge: the trainer key, and who may fetch a session's report over HTTP.

Compares secrets in constant time. Reads no consent scope: what each role may see is the
core's audience policy.
"""

from __future__ import annotations

import hmac

from models.report import SessionReport, SharedReport
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

    def report(self, session_id: str, token: str) -> SessionReport | SharedReport | None:
        """The report of `session_id` as `token` may read it; None for no such session or a
        wrong token (one answer for both, so that session ids cannot be probed).

        How much a role reads is the audience policy's decision (server/core/audience.py);
        the trainer key reads as a trainer, who needs both parties' trainer view.
        """
        session = self._hub.get(session_id)
        if session is None:
            return None
        role = self._hub.token_role(session_id, token)
        if role is not None:
            return session.report_for(role)
        if self._trainer_key and same_secret(token, self._trainer_key):
            return session.report_for(None)
        return None
