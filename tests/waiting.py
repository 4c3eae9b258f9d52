"""One way to wait in the tests, and every wait has a deadline.

The server runs in the test's own event loop, so waiting means yielding to it until
something holds. Never sleep a fixed time and then assert that something did not happen:
wait for a message that must come after it (the answer to a later command, the next
`metrics` or `state`) and assert that the forbidden one did not come before.

Imported as `tests.waiting` (the repository root is on `sys.path`, see pyproject.toml), so
it does not clash with the `conftest` modules of the test folders.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from models import codec
from models.wire import ServerMessage

TIMEOUT_S = 5.0
POLL_S = 0.01

T = TypeVar("T")
M = TypeVar("M")


def _missed(what: str, timeout_s: float) -> AssertionError:
    return AssertionError(f"not within {timeout_s} s: {what}")


async def wait_for(
    predicate: Callable[[], T], timeout_s: float = TIMEOUT_S, what: str = "condition"
) -> T:
    """Polls `predicate()` until it is truthy and returns that value.

    Raises:
        AssertionError: naming `what`, when `timeout_s` passes first.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _missed(what, timeout_s)
        await asyncio.sleep(POLL_S)


def wait_for_blocking(
    predicate: Callable[[], T],
    timeout_s: float = TIMEOUT_S,
    what: str = "condition",
    poll_s: float = 0.1,
) -> T:
    """`wait_for` for code without an event loop (a server in another process)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _missed(what, timeout_s)
        time.sleep(poll_s)


async def wait_message(
    messages: Sequence[M],
    match: Callable[[M], bool],
    since: int = 0,
    timeout_s: float = TIMEOUT_S,
    what: str = "a matching message",
) -> int:
    """Index of the first message at or after `since` that matches.

    Args:
        messages: A list that a reader task appends to (`Participant.messages`).
    """
    checked = since

    def found() -> int | None:
        nonlocal checked
        for i in range(checked, len(messages)):
            if match(messages[i]):
                return i
        checked = len(messages)
        return None

    deadline = time.monotonic() + timeout_s
    while (index := found()) is None:
        if time.monotonic() >= deadline:
            raise _missed(what, timeout_s)
        await asyncio.sleep(POLL_S)
    return index


async def recv(ws: ClientConnection, timeout_s: float = TIMEOUT_S) -> ServerMessage:
    """The next server message on a raw connection, decoded (so checked against v1)."""
    return codec.decode_server(await asyncio.wait_for(ws.recv(), timeout_s))


async def recv_until(
    ws: ClientConnection, match: Callable[[ServerMessage], bool], timeout_s: float = TIMEOUT_S
) -> tuple[ServerMessage, list[ServerMessage]]:
    """Reads until a message matches; returns it and everything read before it."""
    seen: list[ServerMessage] = []
    deadline = time.monotonic() + timeout_s
    while True:
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise _missed(f"a matching message (read {seen})", timeout_s)
        try:
            message = await recv(ws, left_s)
        except TimeoutError:
            raise _missed(f"a matching message (read {seen})", timeout_s) from None
        if match(message):
            return message, seen
        seen.append(message)


async def recv_until_closed(
    ws: ClientConnection, timeout_s: float = TIMEOUT_S
) -> list[ServerMessage]:
    """Reads everything the server still sends until it closes the connection."""
    seen: list[ServerMessage] = []
    deadline = time.monotonic() + timeout_s
    while True:
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise _missed(f"the server closing the connection (read {seen})", timeout_s)
        try:
            seen.append(await recv(ws, left_s))
        except ConnectionClosed:
            return seen
        except TimeoutError:
            raise _missed(f"the server closing the connection (read {seen})", timeout_s) from None
