"""Shared fixtures: a real server on port 0, raw WebSocket connections, a plain HTTP GET.

No mocks: every fixture talks to the server over real sockets. Helpers are handed out as
fixtures (not imported), since other test folders have a `conftest` module of their own.
Waiting, always with a deadline, is `tests/waiting.py` (imported as `tests.waiting`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from itertools import zip_longest
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect

from client.stream import Audio, read_audio
from server.app import Server
from server.config import Config

CALLS_DIR = Path(__file__).resolve().parents[1] / "client" / "calls"
HTTP_TIMEOUT_S = 5.0

HttpGet = Callable[..., Awaitable[tuple[int, dict[str, str], bytes]]]


@pytest.fixture(autouse=True, scope="session")
def _own_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterable[None]:
    """`sparring serve` and the demo keep calls under the user's data directory: the tests'
    processes keep theirs in a directory of this run, never in the real home."""
    import os

    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A started server on a free port, without a speech model."""
    async with Server(Config(port=0, model="none")) as srv:
        yield srv


@pytest.fixture
async def open_ws(server: Server) -> AsyncIterator[Callable[[], Awaitable[ClientConnection]]]:
    """Opens raw WebSocket connections to `WS /v1/live`; closes any left open."""
    opened: list[ClientConnection] = []

    async def _open() -> ClientConnection:
        ws = await connect(server.ws_url, compression=None, max_size=1 << 22)
        opened.append(ws)
        return ws

    yield _open
    for ws in opened:
        with contextlib.suppress(Exception):
            await ws.close()


@functools.cache
def _read_call(name: str, party: str) -> Audio:
    return read_audio(CALLS_DIR / f"{name}.{party}.flac")


@pytest.fixture(scope="session")
def call_audio() -> Callable[[str, str], Audio]:
    """`call_audio("good", "rep")`: one party's track of a bundled call, read once."""
    return _read_call


async def _stream_together(
    rep, customer, rep_frames: Iterable[bytes], customer_frames: Iterable[bytes], speed: float
) -> None:
    """Sends two parties' 100 ms frames (to `Participant`s or raw connections) in lockstep at `speed` x real time (0: no pause).

    After a stall of the event loop it resumes at the pace instead of catching up in a burst:
    a burst from one connection would make the other lag by more than the server's lag bound
    (2 s of audio, which is only 67 ms at 30x), and a lagging party counts as silent.
    """
    send_rep = getattr(rep, "send_audio", None) or rep.send
    send_customer = getattr(customer, "send_audio", None) or customer.send
    step_s = 0.1 / speed if speed else 0.0
    next_at = time.monotonic()
    for rep_frame, customer_frame in zip_longest(rep_frames, customer_frames):
        if rep_frame is not None:
            await send_rep(rep_frame)
        if customer_frame is not None:
            await send_customer(customer_frame)
        next_at = max(next_at + step_s, time.monotonic())
        await asyncio.sleep(next_at - time.monotonic())


@pytest.fixture(scope="session")
def stream_together():
    """`await stream_together(rep, customer, rep_frames, customer_frames, speed)`."""
    return _stream_together


async def _http_get(
    url: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP/1.1 GET that sends `path` byte for byte (no client-side normalising).

    Returns:
        The status code, the headers (lower-case names) and the body.
    """
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    try:
        raw = await asyncio.wait_for(reader.read(), HTTP_TIMEOUT_S)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        response_headers[key.strip().lower()] = value.strip()
    length = response_headers.get("content-length")
    if length is not None:
        body = body[: int(length)]
    return int(status_line.split()[1]), response_headers, body


@pytest.fixture
def http_get(server: Server) -> HttpGet:
    """`await http_get("/healthz", headers={...})` against the running server."""

    async def _get(path: str, headers: dict[str, str] | None = None):
        return await _http_get(server.http_url, path, headers)

    return _get


@pytest.fixture
def stream_call(server: Server, http_get: HttpGet, stream_together):
    """`await stream_call(rep_audio, customer_audio, title)`: two real clients join a new
    session, consent, stream both tracks in lockstep at `speed` x real time, and the rep ends.

    Returns:
        (rep, customer, report JSON read with the rep's token).
    """
    from client.stream import Participant, create_session
    from tests.waiting import wait_for

    async def _run(
        rep_a: Audio, customer_a: Audio, title: str, *, speed: float = 30.0, language: str = "en"
    ):
        created = await create_session(server.ws_url, title, language=language)
        async with (
            Participant(server.ws_url, created.tokens.rep, "Anna", rep_a.format()) as rep,
            Participant(
                server.ws_url, created.tokens.customer, "Bob", customer_a.format()
            ) as customer,
        ):
            await rep.consent()
            await customer.consent()
            await asyncio.wait_for(rep.live.wait(), 5)
            await asyncio.wait_for(customer.live.wait(), 5)
            await stream_together(rep, customer, rep_a.frames(), customer_a.frames(), speed)
            # The two connections are read independently: let the server take every frame
            # in flight before the rep ends, or the last ones arrive after the end.
            sent = rep_a.samples.nbytes + customer_a.samples.nbytes
            await wait_for(lambda: server.app.stats.audio_bytes >= sent, what="all audio received")
            await rep.end()
            await asyncio.wait_for(rep.ended.wait(), 5)
            await asyncio.wait_for(customer.ended.wait(), 5)
        status, _, body = await http_get(
            f"/v1/sessions/{created.session}/report",
            {"Authorization": f"Bearer {created.tokens.rep}"},
        )
        assert status == 200
        return rep, customer, json.loads(body)

    return _run
