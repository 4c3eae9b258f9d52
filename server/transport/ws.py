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
from dataclasses import dataclass
from typing import Protocol

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from models import codec
from models.errors import (
    BadMessage,
    BadToken,
    Forbidden,
    FrameTooBig,
    HelloRequired,
    NotAllowedNow,
    SparringError,
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
from server.core.session import Session
from server.dispatch import Dispatcher

log = logging.getLogger("sparring.ws")

# Messages waiting for one slow reader before its connection is dropped.
OUTBOX_LIMIT = 2000
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
    ) -> None:
        self.ws = ws
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

    # --- sending ------------------------------------------------------------------------

    def enqueue(self, message: ServerMessage, arrived_at: float = 0.0) -> None:
        """Queues a message; a reader too slow to keep up is disconnected, not waited for."""
        if self._closing:
            return
        try:
            self._outbox.put_nowait((message, arrived_at))
        except asyncio.QueueFull:
            log.warning("dropping %s: outbox full", self.pid)
            self._closing = True
            self._outbox = asyncio.Queue()
            self._outbox.put_nowait((_CLOSE, 1008.0))

    def close_soon(self, code: int = 1000) -> None:
        if not self._closing:
            self._closing = True
            self._outbox.put_nowait((_CLOSE, float(code)))

    async def _writer(self) -> None:
        ws = self.ws
        stats = self._stats
        while True:
            message, arrived_at = await self._outbox.get()
            if message is _CLOSE:
                await ws.close(int(arrived_at), "session ended" if arrived_at == 1000 else "")
                return
            assert isinstance(message, msgspec.Struct)
            self._seq += 1
            payload = codec.encode(msgspec.structs.replace(message, seq=self._seq))
            try:
                await ws.send(payload.decode())
            except ConnectionClosed:
                return
            if isinstance(message, Nudge):
                stats.nudge_sent(
                    message.rule, time.perf_counter() - arrived_at if arrived_at else None
                )

    # --- receiving ----------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer(), name=f"conn[{id(self)}].writer")
        try:
            async for data in self.ws:
                arrived_at = time.perf_counter()
                try:
                    if isinstance(data, str):
                        await self._on_text(data)
                    else:
                        self._on_audio(data, arrived_at)
                except SparringError as exc:
                    self.enqueue(ErrorMessage(code=exc.code, message=exc.message))
                    if exc.close_code is not None:
                        self.close_soon(exc.close_code)
                        break
                except Exception:  # a bug must not take other sessions down
                    log.exception("internal error on %s", self.pid)
                    self.enqueue(ErrorMessage(code="internal", message="internal server error"))
                    self.close_soon(1011)
                    break
        except ConnectionClosed:
            pass
        finally:
            self._left()
            # Lets the writer drain and stop; without it, a connection the client closed
            # kept its handler waiting on an empty outbox for the full timeout.
            self.close_soon(1000)
            with contextlib.suppress(asyncio.TimeoutError, ConnectionClosed):
                await asyncio.wait_for(writer, timeout=5)
            writer.cancel()

    async def _on_text(self, data: str) -> None:
        if len(data) > MAX_FRAME_BYTES:
            raise FrameTooBig(f"text frame of {len(data)} bytes is over the 64 KiB limit")
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
                carry_out(session, session.consent(pid, message, wall))
            case End():
                carry_out(session, session.end(pid, wall))
            case Whisper():
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

    def _on_audio(self, data: bytes, arrived_at: float) -> None:
        if len(data) > MAX_FRAME_BYTES:
            raise FrameTooBig(f"audio frame of {len(data)} bytes is over the 64 KiB limit")
        if self.trainer_name is not None:
            raise Forbidden("a trainer sends no audio")
        if self.session is None or self.pid is None:
            raise HelloRequired("send hello before audio")
        session = self.session
        self._stats.audio_received(len(data))
        self._dispatch.carry_out(session, session.feed_audio(self.pid, data), arrived_at)

    async def _create(self, message: Create) -> None:
        key = self._settings.trainer_key
        if key and message.key is not None and not same_secret(message.key, key):
            raise BadToken("wrong creation key")
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
        self.enqueue(Created(session=session.id, tokens=tokens, join_urls=urls))

    def _base_url(self) -> str:
        if self._settings.public_url:
            return self._settings.public_url.rstrip("/")
        request = self.ws.request
        host = request.headers.get("Host") if request else None
        proto = request.headers.get("X-Forwarded-Proto", "http") if request else "http"
        return f"{proto}://{host}" if host else self._settings.local_url

    def _hello(self, message: Hello) -> None:
        if message.token is None:
            self._trainer_hello(message)
            return
        session, role = self._hub.resolve(message.token)
        pid, out = session.join(role, message.name, message.audio)
        self.session, self.pid, self.role = session, pid, role
        self._dispatch.attach(pid, self)
        self.enqueue(
            Welcome(
                session=session.id,
                role=role,
                name=session.roster.participants[pid].name,
                node=session.node,
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
        if session is None or pid is None:
            return
        self._dispatch.detach(pid)
        try:
            self._dispatch.carry_out(session, session.leave(pid, time.time()))
        except Exception:
            log.exception("error while %s left", pid)
