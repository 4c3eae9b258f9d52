"""The server's log lines: plain text, or one JSON object a line (`--log-format json`).

A line about a call carries its id (`call`): given with `extra={"call": ...}`, or taken
from the connection's context (`CALL`, set once it joined). What is logged never holds a
token, a key or a transcript (tests/test_logs.py scans a whole call for them).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

# The call of the connection whose task logs (set by the WebSocket adapter on `hello`).
CALL: ContextVar[str | None] = ContextVar("sparring_call", default=None)
# Fields of `extra=` that a JSON line carries when a record has them.
EXTRA_FIELDS = ("call", "limit", "address")


class CallFilter(logging.Filter):
    """Gives every record a `call` (None where there is none), for both formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call", None) is None:
            record.call = CALL.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the extras it has."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str = "text", level: int = logging.WARNING) -> None:
    """Sets up the root logger: `text` (human lines) or `json` (one object a line)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CallFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
