"""A property-based fuzzer of the live protocol against a real running server.

Shared by the CI tests (tests/fuzz/test_fuzz_live.py, a few thousand inputs) and the bench
run (bench/fuzz_live.py, 100,000 and more). The server runs in a thread of its own with its
own event loop, so that a server that hangs shows as a missed deadline here, never as a
hung test. Every case is checked for the properties of issue 12 (item 6):

- every frame is answered or the connection closed within `DEADLINE_S`;
- every message the server sends decodes, and its `seq` counts 1, 2, 3, … per connection;
- every `error` carries a code of the documented table (docs/protocol.md, Errors);
- no event names another call than the connection's own;
- nothing is logged at ERROR (no traceback), and the server keeps serving;
- the bystander, a live call streaming speech alongside, is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from client.stream import Participant, read_audio
from models import codec
from models.wire import AudioFormat, Created, ErrorMessage, State
from server.app import Server
from server.config import Config

ROOT = Path(__file__).resolve().parents[2]
CALLS_DIR = ROOT / "client" / "calls"
# A frame is answered, or its connection closed, within this (a loaded CI machine included).
DEADLINE_S = 10.0
SENTINEL = '{"type":"zz_fuzz_sentinel"}'  # always answered `unknown_type`, never closes
# Events about a call: each must name the connection's own call.
CALL_EVENTS = {
    "state",
    "nudge",
    "transcript",
    "metrics",
    "checklist",
    "audio_check",
    "report",
    "form",
}
TRAINER_KEY = "fuzz-trainer-key"
# A send of our client after the server closed (websockets' client may fail in its own
# transport then): the client's trouble, not a property of the server.
CLIENT_SEND_FAILED = (ConnectionClosed, OSError, AttributeError)

T = TypeVar("T")


def documented_error_codes() -> frozenset[str]:
    """The codes of the table in docs/protocol.md, Errors (the wire contract)."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    table = text.split("\n## Errors", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            codes.update(re.findall(r"`([a-z_]+)`", first_cell))
    return frozenset(codes)


ERROR_CODES = documented_error_codes()


def fuzz_config(**overrides: Any) -> Config:
    """The fuzz server: limits raised so that inputs reach the protocol, not the limits."""
    base: dict[str, Any] = dict(
        port=0,
        model="none",
        trainer_key=TRAINER_KEY,
        max_sessions=1_000_000,
        creates_per_min=1_000_000,
        create_burst=1_000_000,
        max_connections_per_address=100_000,
        consents_per_min=1_000_000,
        whispers_per_min=1_000_000,
        never_joined_s=5.0,
        everyone_left_s=5.0,
    )
    base.update(overrides)
    return Config(**base)


class ErrorLog(logging.Handler):
    """Keeps every record at ERROR or above, from any logger (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [self.format(r) for r in self.records]


# --- inputs ------------------------------------------------------------------------------

# Placeholders filled at run time with the case's real tokens and ids.
REFS = ("@rep", "@customer", "@observer", "@session", "@trainer_key", "@bogus")
AUDIO = {"format": "pcm_s16le", "rate": 16000, "channels": 1}
TEMPLATES: dict[str, dict[str, Any]] = {
    "create": {"type": "create", "title": "fuzz", "language": "en", "playbook": "default"},
    "hello": {"type": "hello", "token": "@rep", "name": "Fuzz", "client": "fuzz", "audio": AUDIO},
    "hello_trainer": {"type": "hello", "trainer_key": "@trainer_key", "name": "T"},
    "consent": {
        "type": "consent",
        "granted": True,
        "scopes": ["coaching", "transcript", "trainer_view"],
    },
    "consent_proxy": {
        "type": "consent",
        "granted": True,
        "scopes": ["coaching"],
        "on_behalf_of": "customer",
        "name": "Bram",
    },
    "withdraw": {"type": "consent", "granted": False, "erase": True},
    "end": {"type": "end"},
    "whisper": {"type": "whisper", "text": "Ask about the budget", "session": "@session"},
    "watch": {"type": "watch", "session": "@session", "events": "all"},
    "unwatch": {"type": "unwatch", "session": "@session"},
    "evaluate": {
        "type": "evaluate",
        "session": "@session",
        "token": "@observer",
        "ticks": {"talk_share": "good"},
        "notes": {"talk_share": "ok"},
        "skip": False,
        "name": "Eva",
    },
    "erase": {"type": "erase", "session": "@session", "token": "@rep"},
    "share": {"type": "share", "session": "@session", "token": "@rep", "with_customer": True},
    "create_group": {"type": "create_group", "name": "Group B"},
    "add_rep": {"type": "add_rep", "group": "@bogus", "name": "Anna"},
    "list_groups": {"type": "list_groups"},
}
TYPES = sorted({t["type"] for t in TEMPLATES.values()})

texts = st.text(st.characters(codec="utf-8"), max_size=40)
huge_strings = st.builds(
    lambda n, c: c * n, st.integers(16_000, 70_000), st.sampled_from(["x", "é", "\U0001f600", "\\"])
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | texts
    | st.sampled_from(REFS)
    | st.sampled_from(TYPES)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@dataclass(frozen=True)
class Deep:
    """A value nested `depth` times in arrays or objects (spliced in as raw JSON)."""

    depth: int
    kind: str

    def raw(self) -> str:
        if self.kind == "[":
            return "[" * self.depth + "]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth


deep_values = st.builds(Deep, st.integers(10, 30_000), st.sampled_from(["[", "{"]))
field_values = json_values | huge_strings | deep_values


@st.composite
def mutated_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message of any client type, then none or a few mutations."""
    message = dict(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
    for _ in range(draw(st.integers(0, 3))):
        keys = sorted(message)
        how = draw(st.sampled_from(["drop", "retype", "extra", "ref", "type"]))
        if how == "drop" and keys:
            message.pop(draw(st.sampled_from(keys)))
        elif how == "retype" and keys:
            message[draw(st.sampled_from(keys))] = draw(field_values)
        elif how == "extra":
            message[draw(texts)] = draw(field_values)
        elif how == "ref":
            for key in keys:
                if isinstance(message[key], str) and message[key].startswith("@"):
                    message[key] = draw(st.sampled_from(REFS))
        else:
            message["type"] = draw(st.sampled_from(TYPES) | texts)
    return message


@dataclass(frozen=True)
class Text:
    """A text frame: a message (refs filled at run time) or raw text as is."""

    message: dict[str, Any] | None = None
    raw: str | None = None
    ascii: bool = True
    cut: int | None = None  # truncate the encoded JSON here (malformed)


@dataclass(frozen=True)
class Pause:
    """Waits a moment between frames (messages at random moments)."""

    s: float


@dataclass(frozen=True)
class Huge:
    """A binary frame of `n` zero bytes (kept short in a failing example's repr)."""

    n: int


Frame = Text | bytes | Pause | Huge

raw_texts = (
    st.text(st.characters(codec="utf-8"), max_size=200)
    | st.sampled_from(["", "null", "[]", "1", '"x"', "{}", '{"type":null}', "\ufeff{}"])
    | st.integers(1, 5000).map(lambda n: "{" * n)
    | deep_values.map(Deep.raw)
    | st.builds(lambda n: "[" * n + "]" * n, st.integers(100_000, 300_000))  # over 64 KiB
)
frames_st: st.SearchStrategy[Frame] = st.one_of(
    st.builds(Text, message=mutated_messages(), ascii=st.booleans()),
    st.builds(Text, message=mutated_messages(), cut=st.integers(0, 200)),
    st.builds(Text, raw=raw_texts),
    st.binary(max_size=3300),
    st.integers(1, 3200).map(lambda n: b"\x01\x7f" * n),  # even: whole samples
    st.sampled_from([Huge(65_537), Huge(70_000), Huge(65_536)]),
    st.builds(Huge, st.integers(1 << 20, (1 << 20) + 64)),  # not even read
    st.builds(Pause, st.floats(0, 0.05)),
)


@dataclass(frozen=True)
class Case:
    """Frames sent by one connection at one moment of a call.

    `moment`: `fresh` (nothing sent yet), `joined` (after hello, not live), `live` (rep and
    customer consented), `ended` (a call that ended), `trainer` (signed in with the key).
    """

    moment: str
    role: str
    frames: tuple[Frame, ...]


cases = st.builds(
    Case,
    moment=st.sampled_from(["fresh", "joined", "live", "ended", "trainer"]),
    role=st.sampled_from(["rep", "customer", "observer"]),
    frames=st.lists(frames_st, min_size=1, max_size=8).map(tuple),
)


# HTTP: random paths, query strings and headers.
path_parts = (
    st.sampled_from(
        [
            "",
            "v1",
            "sessions",
            "report",
            "export",
            "timeline.svg",
            "talk.svg",
            "reps",
            "me",
            "history",
            "groups",
            "static",
            "index.html",
            "trainer",
            "metrics",
            "healthz",
            "live",
            "..",
            ".",
            "%2e%2e",
            "%00",
            "%ff",
            "[",
            "//",
            "n1.abc",
            "0123456789abcdef",
            "%s",
        ]
    )
    | st.integers(1, 300).map(lambda n: "a" * n)
    | st.text(st.characters(codec="utf-8", exclude_characters="\r\n "), max_size=12)
)
http_paths = st.one_of(
    st.lists(path_parts, max_size=6).map(lambda parts: "/" + "/".join(parts)),
    st.sampled_from(["//[", "*", "http://x/", "/v1/live", "/?", "/#", "%"]),
    st.integers(1, 3000).map(lambda n: "/" * n),
)
queries = st.dictionaries(
    st.sampled_from(["token", "format", "node", "x"]) | texts,
    st.sampled_from(["html", "json", ""]) | texts | st.integers(1, 5000).map(lambda n: "a" * n),
    max_size=3,
)
header_names = st.sampled_from(
    [
        "Authorization",
        "Accept",
        "Upgrade",
        "Connection",
        "Origin",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Host",
        "Cookie",
    ]
) | st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z")
header_values = (
    st.sampled_from(
        [
            "Bearer ",
            "Bearer x",
            "text/html",
            "websocket",
            "Upgrade",
            "null",
            "http://evil.example",
            "dGhlIHNhbXBsZSBub25jZQ==",
            "13",
            "1.2.3.4, ::1",
        ]
    )
    | st.integers(1, 9000).map(lambda n: "a" * n)
    | st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40)
)


@dataclass(frozen=True)
class HttpCase:
    method: str
    path: str
    query: dict[str, str]
    headers: tuple[tuple[str, str], ...]
    encoding: str  # how the request line's characters become bytes


http_cases = st.builds(
    HttpCase,
    method=st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "get", "G\x00T"]),
    path=http_paths,
    query=queries,
    headers=st.lists(st.tuples(header_names, header_values), max_size=5).map(tuple),
    encoding=st.sampled_from(["utf-8", "latin-1"]),
)


# --- the target --------------------------------------------------------------------------


@dataclass
class Tally:
    inputs: int = 0
    cases: int = 0
    http: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class FuzzTarget:
    """A real server in its own thread, with a bystander call streaming speech alongside."""

    def __init__(self, config: Config, *, bystander: bool = True) -> None:
        self.config = config
        self.with_bystander = bystander
        self.errors = ErrorLog()
        self.tally = Tally()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="fuzz-server", daemon=True
        )
        self.server: Server | None = None
        self.bystander: Bystander | None = None

    def __enter__(self) -> FuzzTarget:
        logging.getLogger().addHandler(self.errors)
        self._thread.start()
        self.run(self._start(), 60)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.run(self._stop(), 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        logging.getLogger().removeHandler(self.errors)

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Runs `coro` in the server's loop; a server that hangs misses the deadline."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise AssertionError(f"no answer within {timeout_s} s: the server hangs") from None

    async def _start(self) -> None:
        self.server = await Server(self.config).__aenter__()
        if self.with_bystander:
            self.bystander = Bystander(self.server.ws_url)
            await self.bystander.start()

    async def _stop(self) -> None:
        if self.bystander is not None:
            await self.bystander.stop()
        if self.server is not None:
            await self.server.__aexit__(None, None, None)

    @property
    def ws_url(self) -> str:
        assert self.server is not None
        return self.server.ws_url

    def check_healthy(self) -> None:
        """No ERROR logged, and the bystander untouched."""
        assert not self.errors.records, "logged at ERROR:\n" + "\n".join(self.errors.lines()[:5])
        if self.bystander is not None:
            self.run(self.bystander.assert_untouched(), 30)

    # --- WebSocket cases

    def ws_case(self, case: Case) -> None:
        logged = len(self.errors.records)
        self.run(self._ws_case(case), DEADLINE_S * (len(case.frames) + 4))
        self.tally.cases += 1
        self.tally.inputs += sum(1 for f in case.frames if not isinstance(f, Pause))
        self.assert_nothing_logged(since=logged)

    def assert_nothing_logged(self, since: int = 0) -> None:
        """No record at ERROR since the `since`-th one (each case checks its own)."""
        new = self.errors.lines()[since:]
        assert not new, "logged at ERROR:\n" + "\n".join(new[:3])

    async def _ws_case(self, case: Case) -> None:
        async with contextlib.AsyncExitStack() as stack:
            try:
                refs, ws = await self._moment(case, stack)
            except ServerFull:
                self.tally.errors["server_busy (no call to fuzz)"] = (
                    self.tally.errors.get("server_busy (no call to fuzz)", 0) + 1
                )
                return
            conn = Watched(ws, refs["@session"], trainer=case.moment == "trainer")
            reader = asyncio.create_task(conn.read(), name="fuzz.reader")
            stack.callback(reader.cancel)
            for frame in case.frames:
                if conn.closed.is_set():
                    break
                if isinstance(frame, Pause):
                    await asyncio.sleep(frame.s)
                    continue
                with contextlib.suppress(*CLIENT_SEND_FAILED):
                    await ws.send(_payload(frame, refs))
            # The sentinel proves that every frame before it was taken: frames of one
            # connection are handled in order.
            with contextlib.suppress(*CLIENT_SEND_FAILED):
                await ws.send(SENTINEL)
            try:
                await asyncio.wait_for(conn.answered_or_closed(), DEADLINE_S)
            except TimeoutError:
                raise AssertionError(f"no answer and no close within {DEADLINE_S} s") from None
            for code in conn.error_codes:
                self.tally.errors[code] = self.tally.errors.get(code, 0) + 1
            conn.check()

    async def _moment(
        self, case: Case, stack: contextlib.AsyncExitStack
    ) -> tuple[dict[str, str], ClientConnection]:
        created = await _create(self.ws_url)
        tokens = created.tokens
        refs = {
            "@rep": tokens.rep,
            "@customer": tokens.customer,
            "@observer": tokens.observer,
            "@session": created.session,
            "@trainer_key": TRAINER_KEY,
            "@bogus": "n0.deadbeef",
        }
        fmt = AudioFormat(rate=16000, channels=1)
        own_token = refs[f"@{case.role}"]
        if case.moment == "live":
            for other in ("rep", "customer"):
                if other != case.role:
                    party = await stack.enter_async_context(
                        Participant(self.ws_url, refs[f"@{other}"], other, fmt)
                    )
                    await party.consent()
        if case.moment == "ended":
            rep = await stack.enter_async_context(Participant(self.ws_url, tokens.rep, "R", fmt))
            await rep.end()
            await asyncio.wait_for(rep.ended.wait(), DEADLINE_S)
        ws = await connect(self.ws_url, compression=None, max_size=1 << 22, open_timeout=DEADLINE_S)
        stack.push_async_callback(ws.close)
        if case.moment == "trainer":
            await ws.send(json.dumps({"type": "hello", "trainer_key": TRAINER_KEY, "name": "T"}))
        elif case.moment in ("joined", "live"):
            hello = {"type": "hello", "token": own_token, "name": case.role, "audio": AUDIO}
            await ws.send(json.dumps(hello))
            if case.moment == "live":
                await ws.send(json.dumps(TEMPLATES["consent"]))
        return refs, ws


def _fill(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str):
        return refs.get(value, value)
    if isinstance(value, list):
        return [_fill(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, refs) for k, v in value.items()}
    return value


def _payload(frame: Text | bytes | Huge, refs: dict[str, str]) -> str | bytes:
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, Huge):
        return bytes(frame.n)
    if frame.raw is not None:
        return frame.raw
    assert frame.message is not None
    deep: list[str] = []

    def splice(value: Any) -> Any:
        if isinstance(value, Deep):
            deep.append(value.raw())
            return f"\x00deep{len(deep) - 1}\x00"
        if isinstance(value, list):
            return [splice(v) for v in value]
        if isinstance(value, dict):
            return {k: splice(v) for k, v in value.items()}
        return value

    text = json.dumps(splice(_fill(frame.message, refs)), ensure_ascii=frame.ascii)
    for i, raw in enumerate(deep):
        marker = json.dumps(f"\x00deep{i}\x00", ensure_ascii=frame.ascii)
        text = text.replace(marker, raw)
    return text[: frame.cut] if frame.cut is not None else text


async def _create(ws_url: str) -> Created:
    """A new call, created with the trainer key (not counted against the address)."""
    async with connect(ws_url, compression=None, open_timeout=DEADLINE_S) as ws:
        await ws.send(json.dumps({"type": "create", "title": "fuzz", "key": TRAINER_KEY}))
        created = codec.decode_server(await asyncio.wait_for(ws.recv(), DEADLINE_S))
        if isinstance(created, ErrorMessage) and created.code == "server_busy":
            raise ServerFull(created.message)
        assert isinstance(created, Created), created
        return created


class ServerFull(Exception):
    """The server holds its maximum of sessions (default limits: 1,000, kept 15 minutes
    when nobody joins): the documented `server_busy`, so the case has no call to fuzz."""


class Watched:
    """What one fuzzed connection received, checked against the properties."""

    def __init__(self, ws: ClientConnection, session: str, *, trainer: bool) -> None:
        self.ws = ws
        self.sessions = {session}
        self.trainer = trainer
        self.raw: list[dict[str, Any]] = []
        self.error_codes: list[str] = []
        self.closed = asyncio.Event()
        self._sentinel = asyncio.Event()

    async def read(self) -> None:
        try:
            async for data in self.ws:
                message = codec.decode_server(data)  # every message is a valid one
                raw = json.loads(data)
                self.raw.append(raw)
                if isinstance(message, Created):
                    self.sessions.add(message.session)  # a `create` of its own
                if isinstance(message, ErrorMessage):
                    self.error_codes.append(message.code)
                    if "zz_fuzz_sentinel" in message.message:
                        self._sentinel.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def answered_or_closed(self) -> None:
        done, pending = await asyncio.wait(
            [
                asyncio.ensure_future(self._sentinel.wait()),
                asyncio.ensure_future(self.closed.wait()),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in pending:
            task.cancel()

    def check(self) -> None:
        seqs = [m.get("seq") for m in self.raw]
        assert seqs == list(range(1, len(seqs) + 1)), f"seq not continuous: {seqs}"
        undocumented = set(self.error_codes) - ERROR_CODES
        assert not undocumented, f"error codes not in docs/protocol.md: {undocumented}"
        assert "internal" not in self.error_codes, "an internal error (a bug) was answered"
        if self.trainer:
            return  # a trainer may see every call that granted trainer_view
        for m in self.raw:
            if m.get("type") in CALL_EVENTS:
                assert m.get("session") in self.sessions, f"another call's event: {m}"


# --- HTTP cases


async def http_request(host: str, port: int, case: HttpCase) -> tuple[int | None, bytes]:
    """Sends one raw request; returns its status (None: closed without an answer)."""
    target = case.path
    if case.query:
        target += "?" + "&".join(f"{k}={v}" for k, v in case.query.items())
    lines = [f"{case.method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in case.headers]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode(case.encoding, "replace")
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), DEADLINE_S)
    except ConnectionError:
        raw = b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    if not raw:
        return None, raw
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
    assert match, f"not an HTTP answer: {raw[:80]!r}"
    return int(match.group(1)), raw


def http_case(target: FuzzTarget, case: HttpCase) -> int | None:
    """Runs one HTTP case: answered (never 5xx) or closed within the deadline."""
    server = target.server
    assert server is not None
    logged = len(target.errors.records)
    status, raw = target.run(http_request("127.0.0.1", server.port, case), DEADLINE_S + 5)
    target.tally.http += 1
    target.tally.inputs += 1
    assert status is None or status < 500, f"{status} for {case}: {raw[:200]!r}"
    target.assert_nothing_logged(since=logged)
    return status


# --- the bystander -----------------------------------------------------------------------


class Bystander:
    """A live two-party call streaming the pushy call at 10x, looping, all along."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self._stack = contextlib.AsyncExitStack()
        self._talker: asyncio.Task[None] | None = None
        self.session = ""

    async def start(self) -> None:
        created = await _create(self.ws_url)
        self.session = created.session
        fmt = AudioFormat(rate=16000, channels=1)
        self.rep = await self._stack.enter_async_context(
            Participant(self.ws_url, created.tokens.rep, "Anna", fmt)
        )
        self.customer = await self._stack.enter_async_context(
            Participant(self.ws_url, created.tokens.customer, "Bob", fmt)
        )
        await self.rep.consent()
        await self.customer.consent()
        await asyncio.wait_for(self.rep.live.wait(), DEADLINE_S)
        rep_audio = read_audio(CALLS_DIR / "pushy.rep.flac")
        customer_audio = read_audio(CALLS_DIR / "pushy.customer.flac")

        async def talk() -> None:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    step_s, next_at = 0.01, time.monotonic()
                    for a, b in zip_longest(rep_audio.frames(), customer_audio.frames()):
                        if a is not None:
                            await self.rep.send_audio(a)
                        if b is not None:
                            await self.customer.send_audio(b)
                        next_at = max(next_at + step_s, time.monotonic())
                        await asyncio.sleep(next_at - time.monotonic())

        self._talker = asyncio.create_task(talk(), name="bystander.talk")

    async def stop(self) -> None:
        if self._talker is not None:
            self._talker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._talker
        await self._stack.aclose()

    async def assert_untouched(self) -> None:
        """Still live, no error, no foreign event, seq continuous, metrics still coming."""
        from models.wire import Metrics

        mark = len(self.rep.of_type(Metrics))
        deadline = time.monotonic() + DEADLINE_S
        while len(self.rep.of_type(Metrics)) < mark + 2:
            assert time.monotonic() < deadline, "the bystander's metrics stopped"
            await asyncio.sleep(0.05)
        for party in (self.rep, self.customer):
            assert not party.of_type(ErrorMessage), party.of_type(ErrorMessage)
            assert [m.seq for m in party.messages] == list(range(1, len(party.messages) + 1))
            for m in party.messages:
                assert getattr(m, "session", self.session) == self.session, m
            states = party.of_type(State)
            first_live = next(i for i, s in enumerate(states) if s.live)
            assert all(s.live for s in states[first_live:]), "the bystander was paused"
            assert not party.ended.is_set()
