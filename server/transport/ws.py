"""The WebSocket adapter of `WS /v1/live`: decode, feed the core, send what it returns.

Holds no rule. The only place that catches `SparringError`: it sends an `error` message
and closes the connection when the error carries a close code. One connection's failure
never reaches another session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol

from models import codec
from models.errors import (
    AudioTooFast,
    BadMessage,
    BadToken,
    CreateRateLimited,
    Forbidden,
    FrameTooBig,
    HelloRequired,
    HelloTimeout,
    KeyRequired,
    NotAllowedNow,
    RateLimited,
    Replaced,
    ServerStopping,
    SparringError,
    TooManyConnections,
)
from models.records import Rep
from models.wire import (
    ALL_SESSIONS,
    MAX_FRAME_BYTES,
    AddRep,
    ClientMessage,
    Consent,
    Create,
    Created,
    CreateGroup,
    Done,
    End,
    Erase,
    ErrorMessage,
    Evaluate,
    Groups,
    GroupView,
    Hello,
    ListGroups,
    Nudge,
    RepLink,
    Role,
    RoleTokens,
    ServerMessage,
    Share,
    Unwatch,
    Watch,
    Welcome,
    Whisper,
)
from server.access import same_secret
from server.core.hub import SessionHub
from server.core.limits import Counts, KeyedBuckets, TokenBucket, per_minute
from server.core.session import Session
from server.dispatch import Dispatcher
from server.logs import CALL

log = logging.getLogger("sparring.ws")

# Messages waiting for one slow reader before its connection is dropped.
OUTBOX_LIMIT = 2000
# A send that waits this long for the socket to drain: the reader stopped reading.
SEND_STALL_S = 5.0
# A connection being cut off gets this long to take its close frame, then it is aborted.
CUT_OFF_S = 2.0
# A limit that keeps firing for one address is logged once in this long.
LOG_EVERY_S = 10.0
# Activity is told to the hub (idle calls) at most this often per connection.
TOUCH_EVERY_S = 1.0
_CLOSE = object()


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """What a live connection reads of the server's configuration.

    Attributes:
        trainer_key: Needed in `create` when set (a `create` without a key is taken).
        default_language: A session's language when `create` names none.
        public_url: Base of join links; None: from the request's Host header.
        local_url: Base of join links when a request has no Host header.
    """

    trainer_key: str | None = None
    default_language: str = "en"
    public_url: str | None = None
    local_url: str = ""
    retention_days: int | None = None  # calls are kept this long (None: memory only)
    tls: bool = False  # join links are https without a proxy saying otherwise
    create_needs_key: bool = False
    hello_timeout_s: float = 10.0
    audio_rate_x: float = 50.0
    audio_burst_s: float = 180.0
    consents_per_min: int = 20
    whispers_per_min: int = 30


class AddressLimits:
    """What one client address may hold and do, across its connections.

    Args:
        creates_per_min: `create`s per minute once `create_burst` is spent.
        create_burst: `create`s at once.
        max_connections: Open live connections per address.
        clock: Monotonic seconds (injected for tests).
    """

    def __init__(
        self,
        creates_per_min: int = 30,
        create_burst: int = 30,
        max_connections: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.creates = KeyedBuckets(lambda: per_minute(creates_per_min, create_burst))
        self.connections = Counts(max_connections)
        self.clock = clock
        # A flood must not become a flood of log lines: one line per limit and address
        # every LOG_EVERY_S at most (the counter counts them all).
        self.log_lines = KeyedBuckets(lambda: TokenBucket(rate_per_s=1 / LOG_EVERY_S, burst=1))


class LiveStats(Protocol):
    """The counts a live connection reports (`server.stats.Stats`)."""

    def audio_received(self, nbytes: int) -> None:
        """An audio frame of `nbytes` arrived."""
        ...

    def session_created(self) -> None:
        """A `create` succeeded."""
        ...

    def nudge_sent(self, rule: str, latency_s: float | None) -> None:
        """A nudge was written; `latency_s` since its audio frame arrived, if one did."""
        ...

    def limit_fired(self, limit: str) -> None:
        """A limit refused, paced or cut off something (`sparring_limits_fired_total`)."""
        ...


class TrainerPort(Protocol):
    """What a trainer's connection uses (`server.trainers.Trainers`)."""

    def check_key(self, key: str, address: str) -> None:
        """Raises a coded error for a wrong key, or for an address that must wait."""
        ...

    def seat(self, outbox: LiveConnection) -> None:
        """Seats a signed-in trainer at the desk."""
        ...

    def leave(self, outbox: LiveConnection) -> None: ...

    def whisper(self, name: str, message: Whisper) -> None:
        """Sends a trainer's whisper to a call on any node (raises a coded error)."""
        ...

    @property
    def desk(self) -> DeskPort: ...


class DeskPort(Protocol):
    """Watching calls (`server.desk.TrainerDesk`)."""

    node: str

    def watch(
        self, outbox: LiveConnection, session_id: str, *, everything: bool = True
    ) -> None: ...

    def unwatch(self, outbox: LiveConnection, session_id: str) -> None: ...


class AfterCallPort(Protocol):
    """Evaluations, erasure and people (`server.aftercall.AfterCall`)."""

    async def evaluate(self, session: Session, role: Role, name: str, msg: Evaluate) -> None: ...

    async def evaluate_by_token(self, msg: Evaluate) -> str: ...

    async def evaluate_as_trainer(self, session_id: str, name: str, msg: Evaluate) -> None: ...

    async def erase(self, msg: Erase) -> None: ...

    async def share(self, msg: Share) -> None: ...

    async def groups(self) -> tuple[GroupView, ...]: ...

    async def create_group(self, name: str) -> tuple[GroupView, ...]: ...

    async def add_rep(self, group: str, name: str, base_url: str) -> RepLink: ...

    async def rep_of(self, token: str) -> Rep: ...

    def started_by(self, session: Session, rep: Rep) -> None: ...


class LiveServerConnection(ServerConnection):
    """websockets' server connection, answering a frame over its `max_size` with `too_big`.

    websockets closes such a frame itself (1009) before our reader sees it; protocol v1
    promises an `error` before every close for a client's fault, so the close is preceded
    by one, with the connection's next `seq`.
    """

    live: LiveConnection | None = None

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        super().__init__(protocol, *args, **kwargs)
        fail = protocol.fail

        def answer_then_fail(code: int, reason: str = "") -> None:
            if code == CloseCode.MESSAGE_TOO_BIG and protocol.state is WsState.OPEN:
                error = FrameTooBig(f"a frame over the limit of this server ({reason})")
                notice = ErrorMessage(code=error.code, message=error.message)
                live = self.live
                if live is not None:
                    live.count_too_big()
                protocol.send_text(live.sealed(notice) if live else codec.encode(notice))
            fail(code, reason)

        protocol.fail = answer_then_fail  # type: ignore[method-assign]


class LiveConnection:
    """One client connection: its participant, its outbox and its sequence numbers.

    Args:
        ws: The accepted WebSocket.
        hub: Creates sessions and resolves join tokens.
        dispatch: Carries out what the session returns, and routes messages to this
            connection once its participant joined.
        settings: The configuration it reads.
        stats: Where it counts audio, sessions created and nudges.
    """

    def __init__(
        self,
        ws: ServerConnection,
        hub: SessionHub,
        dispatch: Dispatcher,
        settings: LiveSettings,
        stats: LiveStats,
        trainers: TrainerPort | None = None,
        aftercall: AfterCallPort | None = None,
        limits: AddressLimits | None = None,
    ) -> None:
        self.ws = ws
        if isinstance(ws, LiveServerConnection):
            ws.live = self
        self._limits = limits or AddressLimits()
        self.address = self._client_address()
        self._created = False  # one `create` per connection before `hello`
        self._consents = per_minute(settings.consents_per_min)
        self._whispers = per_minute(settings.whispers_per_min)
        self._audio: TokenBucket | None = None  # set by `hello`, from the declared format
        self._told_too_fast = False
        self._touched_at = 0.0
        self._cutting_off: asyncio.Task[None] | None = None
        self._trainers = trainers
        self._aftercall = aftercall
        self.trainer_name: str | None = None  # signed in with the trainer key
        self._hub = hub
        self._dispatch = dispatch
        self._settings = settings
        self._stats = stats
        self.session: Session | None = None
        self.pid: str | None = None
        self.role: Role | None = None
        self._seq = 0
        self._outbox: asyncio.Queue[tuple[object, float]] = asyncio.Queue(OUTBOX_LIMIT)
        self._closing = False
        self._replaced = False  # a new connection with the same token took the place over

    # --- sending ------------------------------------------------------------------------

    def enqueue(self, message: ServerMessage, arrived_at: float = 0.0) -> None:
        """Queues a message; a reader too slow to keep up is disconnected, not waited for."""
        if self._closing:
            return
        try:
            self._outbox.put_nowait((message, arrived_at))
        except asyncio.QueueFull:
            self._cut_off("outbox")

    def _cut_off(self, limit: str) -> None:
        """Drops a reader that stopped reading, without waiting on the drain it blocks.

        The close frame would wait behind what the reader does not take, so the socket
        gets `CUT_OFF_S` to take it and is then aborted.
        """
        if self._cutting_off is not None:
            return
        self._fired(limit, "reader too slow: connection cut off")
        self._closing = True
        self._outbox = asyncio.Queue()  # what is queued is dropped
        self._cutting_off = asyncio.create_task(
            self._close_or_abort(), name=f"conn[{id(self)}].cut_off"
        )

    async def _close_or_abort(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError, ConnectionClosed):
            await asyncio.wait_for(self.ws.close(1008, "reader too slow"), CUT_OFF_S)
        transport = self.ws.transport
        if transport is not None:
            transport.abort()  # a no-op when the close went through

    def _fired(self, limit: str, what: str) -> None:
        """Counts a limit that fired and logs it (address and call, never a token)."""
        self._stats.limit_fired(limit)
        if not self._limits.log_lines.take(f"{limit} {self.address}", self._limits.clock()):
            return
        log.warning(
            "limit %s: %s",
            limit,
            what,
            extra={"limit": limit, "address": self.address, "call": self._call_id()},
        )

    def count_too_big(self) -> None:
        """websockets refused a frame over its `max_size` (`LiveServerConnection`)."""
        self._fired("message_size", "frame over max_size")

    def _call_id(self) -> str | None:
        return self.session.id if self.session is not None else None

    def close_soon(self, code: int = 1000) -> None:
        if not self._closing:
            try:
                self._outbox.put_nowait((_CLOSE, float(code)))
            except asyncio.QueueFull:  # behind what the reader does not take
                self._cut_off("outbox")
            self._closing = True

    def replaced(self) -> None:
        """A new connection with this participant's token took the place over (a reload or
        a network switch the server had not noticed): this one is told `replaced` and
        closed. What it still sends is dropped unread, and its close drops nobody."""
        self._replaced = True
        self._refuse(Replaced("this call continued on another connection with the same link"))

    def stop(self) -> None:
        """Shutdown, for a connection in no call (a trainer, one before `hello`): told
        `server_stopping`, then closed with 1001. Calls are stopped by the dispatcher."""
        if self.pid is None:
            self._refuse(ServerStopping("the server is stopping"))

    @property
    def done(self) -> bool:
        """Closed, or never to send anything more."""
        return self.ws.state is WsState.CLOSED

    def abort(self) -> None:
        """Drops the connection at once (shutdown, past its deadline)."""
        transport = self.ws.transport
        if transport is not None:
            transport.abort()

    async def _writer(self) -> None:
        ws = self.ws
        stats = self._stats
        while True:
            message, arrived_at = await self._outbox.get()
            if message is _CLOSE:
                reason = {1000: "session ended", 1001: "server stopping"}.get(int(arrived_at), "")
                await ws.close(int(arrived_at), reason)
                return
            assert isinstance(message, msgspec.Struct)
            try:
                # Sealed and written in one step (no task in between, unlike `wait_for`):
                # a `too_big` answered meanwhile by `LiveServerConnection` can neither take
                # a later `seq` nor leave a sealed message unsent, so `seq` has no gap.
                async with asyncio.timeout(SEND_STALL_S):
                    await ws.send(self.sealed(message).decode())
            except ConnectionClosed:
                return
            except TimeoutError:
                self._cut_off("send_stall")
                return
            if isinstance(message, Nudge):
                stats.nudge_sent(
                    message.rule, time.perf_counter() - arrived_at if arrived_at else None
                )

    def sealed(self, message: msgspec.Struct) -> bytes:
        """`message` with this connection's next `seq`, encoded."""
        self._seq += 1
        return codec.encode(msgspec.structs.replace(message, seq=self._seq))

    # --- receiving ----------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer(), name=f"conn[{id(self)}].writer")
        admitted = self._limits.connections.acquire(self.address)
        try:
            if admitted:
                await self._read()
            else:
                self._fired("connections_per_address", "too many open connections")
                held = self._limits.connections.limit
                self._refuse(TooManyConnections(f"this address holds {held} connections already"))
        except ConnectionClosed:
            pass
        finally:
            if admitted:
                self._limits.connections.release(self.address)
            self._left()
            # Lets the writer drain and stop; without it, a connection the client closed
            # kept its handler waiting on an empty outbox for the full timeout.
            self.close_soon(1000)
            with contextlib.suppress(asyncio.TimeoutError, ConnectionClosed):
                await asyncio.wait_for(writer, timeout=5)
            writer.cancel()
            if self._cutting_off is not None:
                with contextlib.suppress(asyncio.TimeoutError, ConnectionClosed):
                    await asyncio.wait_for(self._cutting_off, CUT_OFF_S + 1)

    def _refuse(self, exc: SparringError) -> None:
        self.enqueue(ErrorMessage(code=exc.code, message=exc.message))
        if exc.close_code is not None:
            self.close_soon(exc.close_code)

    def _waiting_for_hello(self) -> bool:
        return self.session is None and self.trainer_name is None

    async def _read(self) -> None:
        """Reads frames until the connection closes or an error closes it."""
        ws = self.ws
        loop = asyncio.get_running_loop()
        hello_by = loop.time() + self._settings.hello_timeout_s
        while True:
            if self._waiting_for_hello():
                try:
                    async with asyncio.timeout_at(hello_by):
                        data = await ws.recv()
                except TimeoutError:
                    self._fired("hello_timeout", "no request before the deadline")
                    self._refuse(HelloTimeout("send hello (or a request) sooner"))
                    return
            else:
                data = await ws.recv()
            if self._replaced:
                continue  # read on only to take the close: the place is another's now
            arrived_at = time.perf_counter()
            pause_s = 0.0
            try:
                if isinstance(data, str):
                    await self._on_text(data)
                    if self._waiting_for_hello():  # a request answered: the next may come
                        hello_by = loop.time() + self._settings.hello_timeout_s
                else:
                    pause_s = self._on_audio(data, arrived_at)
            except SparringError as exc:
                self._refuse(exc)
                if exc.close_code is not None:
                    return
            except Exception:  # a bug must not take other sessions down
                log.exception("internal error on %s", self.pid, extra={"call": self._call_id()})
                self._refuse(_Internal("internal server error"))
                return
            if self.session is not None:
                self._touch()
            if pause_s:
                # Audio over the cap is paced, not dropped: reading this connection waits,
                # and TCP makes its sender wait too.
                await asyncio.sleep(pause_s)

    def _touch(self) -> None:
        now = time.monotonic()
        if now - self._touched_at >= TOUCH_EVERY_S and self.session is not None:
            self._touched_at = now
            self._hub.touch(self.session.id, time.time())

    async def _on_text(self, data: str) -> None:
        # The limit counts bytes as sent (UTF-8), not characters: a character takes at most
        # 4 bytes, so most frames need no encoding to be measured.
        if len(data) * 4 > MAX_FRAME_BYTES:
            size = len(data.encode("utf-8", "surrogatepass"))
            if size > MAX_FRAME_BYTES:
                self._fired("message_size", f"text frame of {size} bytes")
                raise FrameTooBig(f"text frame of {size} bytes is over the 64 KiB limit")
        message = codec.decode_client(data)
        if self.trainer_name is not None:
            await self._on_trainer(message, self.trainer_name)
            return
        if self.session is None:
            match message:
                case Create():
                    await self._create(message)
                case Hello():
                    self._hello(message)
                case Evaluate():
                    session_id = await self._after().evaluate_by_token(message)
                    self.enqueue(Done(request="evaluate", session=session_id))
                case Erase():
                    await self._after().erase(message)
                    self.enqueue(Done(request="erase", session=message.session))
                case Share():
                    await self._after().share(message)
                    self.enqueue(Done(request="share", session=message.session))
                case _:
                    raise HelloRequired(f"send hello before {message.__struct_config__.tag}")
            return
        session, pid = self.session, self.pid
        assert pid is not None
        wall = time.time()
        carry_out = self._dispatch.carry_out
        match message:
            case Consent():
                self._rate(self._consents, "consents_per_min", "consent changes")
                carry_out(session, session.consent(pid, message, wall))
            case End():
                carry_out(session, session.end(pid, wall))
            case Whisper():
                self._rate(self._whispers, "whispers_per_min", "whispers")
                carry_out(session, session.whisper(pid, message.text))
                self.enqueue(Done(request="whisper", session=session.id))
            case Evaluate():
                role = self.role
                assert role is not None
                name = message.name.strip() or session.roster.participants[pid].name
                await self._after().evaluate(session, role, name, message)
                self.enqueue(Done(request="evaluate", session=session.id))
            case Watch() | Unwatch():
                raise Forbidden("only a trainer signed in with the trainer key may watch calls")
            case CreateGroup() | AddRep() | ListGroups():
                raise Forbidden("only a trainer signed in with the trainer key manages groups")
            case Hello() | Create():
                raise NotAllowedNow(f"{message.__struct_config__.tag} after hello")
            case _:
                raise NotAllowedNow(
                    f"{message.__struct_config__.tag} is sent on its own connection, with its token"
                )

    async def _on_trainer(self, message: ClientMessage, name: str) -> None:
        trainers = self._trainers
        assert trainers is not None
        match message:
            case Watch():
                everything = message.events == "all"
                trainers.desk.watch(self, message.session, everything=everything)
            case Unwatch():
                trainers.desk.unwatch(self, message.session)
            case Whisper():
                self._rate(self._whispers, "whispers_per_min", "whispers")
                trainers.whisper(name, message)
                self.enqueue(Done(request="whisper", session=message.session or ""))
            case Evaluate():
                if not message.session:
                    raise BadMessage("a trainer's evaluation names its call: add 'session'")
                await self._after().evaluate_as_trainer(message.session, name, message)
                self.enqueue(Done(request="evaluate", session=message.session))
            case ListGroups():
                self.enqueue(Groups(groups=await self._after().groups()))
            case CreateGroup():
                self.enqueue(Groups(groups=await self._after().create_group(message.name)))
            case AddRep():
                link = await self._after().add_rep(message.group, message.name, self._base_url())
                self.enqueue(link)
            case End():
                self.close_soon(1000)
            case Consent():
                raise Forbidden(
                    "a trainer consents to nothing here: join with a token to take part"
                )
            case Hello() | Create():
                raise NotAllowedNow(f"{message.__struct_config__.tag} after hello")
            case _:
                raise NotAllowedNow(
                    f"{message.__struct_config__.tag} is sent on its own connection, with its token"
                )

    def _after(self) -> AfterCallPort:
        if self._aftercall is None:
            raise NotAllowedNow("this server takes no requests after a call")
        return self._aftercall

    def _rate(self, bucket: TokenBucket, limit: str, what: str) -> None:
        """Refuses a request over its per-minute rate (the message is dropped)."""
        now = self._limits.clock()
        if not bucket.take(now):
            self._fired(limit, f"too many {what}")
            wait_s = bucket.wait_s(now)
            raise RateLimited(f"too many {what} a minute: try again in {wait_s:.1f} s")

    def _on_audio(self, data: bytes, arrived_at: float) -> float:
        """Feeds one audio frame; returns how long to pause reading (audio over the cap)."""
        if len(data) > MAX_FRAME_BYTES:
            self._fired("message_size", f"audio frame of {len(data)} bytes")
            raise FrameTooBig(f"audio frame of {len(data)} bytes is over the 64 KiB limit")
        if self.trainer_name is not None:
            raise Forbidden("a trainer sends no audio")
        if self.session is None or self.pid is None:
            raise HelloRequired("send hello before audio")
        session = self.session
        self._stats.audio_received(len(data))
        self._dispatch.carry_out(session, session.feed_audio(self.pid, data), arrived_at)
        if self._audio is None:
            return 0.0
        pause_s = self._audio.spend(self._limits.clock(), len(data))
        if pause_s and not self._told_too_fast:
            self._told_too_fast = True
            cap = self._settings.audio_rate_x
            self._fired("audio_rate", f"audio faster than {cap:g}x real time: paced")
            error = AudioTooFast(f"audio arrives faster than {cap:g}x real time: it is paced")
            self.enqueue(ErrorMessage(code=error.code, message=error.message))
        return pause_s

    async def _create(self, message: Create) -> None:
        if self._dispatch.stopping:
            raise ServerStopping("the server is stopping: it starts no new call")
        if self._created:
            self._fired("create_per_connection", "a second create before hello")
            raise NotAllowedNow("one create per connection: join it with hello, or reconnect")
        key = self._settings.trainer_key
        if key and message.key is not None and not same_secret(message.key, key):
            raise BadToken("wrong creation key")
        has_key = bool(key) and message.key is not None
        if self._settings.create_needs_key and not (has_key or message.rep_token):
            self._fired("create_needs_key", "create without a key or a rep token")
            raise KeyRequired("this server creates calls for a rep link or the trainer key")
        if not has_key:  # the trainer key is trusted; anyone else is counted per address
            now = self._limits.clock()
            bucket = self._limits.creates.bucket(self.address)
            if not bucket.take(now):
                self._fired("create_rate", "too many creates from one address")
                raise CreateRateLimited(
                    f"too many new calls from this address: try again in {bucket.wait_s(now):.1f} s"
                )
        self._created = True
        owner = await self._after().rep_of(message.rep_token) if message.rep_token else None
        session, tokens = self._hub.create(
            message, default_language=self._settings.default_language, now=time.time()
        )
        if owner is not None:
            self._after().started_by(session, owner)
        self._dispatch.opened(session)
        base = self._base_url()
        urls = RoleTokens(
            rep=f"{base}/#join={tokens.rep}",
            customer=f"{base}/#join={tokens.customer}",
            observer=f"{base}/#join={tokens.observer}",
        )
        self._stats.session_created()
        self.enqueue(
            Created(
                session=session.id,
                tokens=tokens,
                join_urls=urls,
                retention_days=self._settings.retention_days,
            )
        )

    def _base_url(self) -> str:
        if self._settings.public_url:
            return self._settings.public_url.rstrip("/")
        request = self.ws.request
        host = request.headers.get("Host") if request else None
        direct = "https" if self._settings.tls else "http"
        proto = request.headers.get("X-Forwarded-Proto", direct) if request else direct
        return f"{proto}://{host}" if host else self._settings.local_url

    def _hello(self, message: Hello) -> None:
        if message.token is None:
            self._trainer_hello(message)
            return
        if self._dispatch.stopping:
            raise ServerStopping("the server is stopping: try again in a moment")
        session, role = self._hub.resolve(message.token)
        try:
            pid, out = session.join(role, message.name, message.audio)
        except SparringError as exc:
            if exc.code == "call_full":
                self._fired("observers_per_call", "call full")
            raise
        self.session, self.pid, self.role = session, pid, role
        audio = message.audio
        if audio is not None and self._settings.audio_rate_x > 0:
            bytes_per_s = audio.rate * audio.channels * 2  # pcm_s16le
            self._audio = TokenBucket(
                rate_per_s=bytes_per_s * self._settings.audio_rate_x,
                burst=bytes_per_s * self._settings.audio_burst_s,
            )
        self._hub.touch(session.id, time.time())
        CALL.set(session.id)  # the lines this connection logs from now on name its call
        self._dispatch.attach(pid, self)
        self.enqueue(
            Welcome(
                session=session.id,
                role=role,
                name=session.roster.participants[pid].name,
                node=session.node,
                retention_days=self._settings.retention_days,
            )
        )
        self._dispatch.carry_out(session, out)

    def _trainer_hello(self, message: Hello) -> None:
        trainers = self._trainers
        if trainers is None:
            raise BadToken("this server has no trainer access; join with a token")
        assert message.trainer_key is not None
        trainers.check_key(message.trainer_key, self._client_address())
        name = message.name.strip() or "Trainer"
        self.trainer_name = name
        self.enqueue(
            Welcome(session=ALL_SESSIONS, role=Role.TRAINER, name=name, node=trainers.desk.node)
        )
        trainers.seat(self)

    def _client_address(self) -> str:
        """The client's address; behind a reverse proxy on loopback, the one it forwards."""
        peer = self.ws.remote_address
        host = str(peer[0]) if peer else ""
        request = self.ws.request
        forwarded = request.headers.get("X-Forwarded-For") if request else None
        if forwarded and host in ("127.0.0.1", "::1"):
            return forwarded.split(",")[-1].strip()
        return host

    def _left(self) -> None:
        if self.trainer_name is not None and self._trainers is not None:
            self._trainers.leave(self)
        session, pid = self.session, self.pid
        if session is None or pid is None or self._replaced:
            return  # a replaced connection's participant is connected elsewhere
        self._dispatch.detach(pid, self)
        try:
            dropped_at = time.time()
            self._dispatch.carry_out(session, session.leave(pid, dropped_at))
            p = session.roster.participants.get(pid)
            if p is not None and p.reconnecting and p.dropped_at == dropped_at:
                grace_s = session.roster.rejoin_grace_s
                self._dispatch.give_up_later(session, pid, dropped_at, grace_s)
        except Exception:
            log.exception("error while %s left", pid)


class _Internal(SparringError):
    code = "internal"
    close_code = 1011
