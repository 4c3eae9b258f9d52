"""The bus across nodes: trainer-visible events to and from an MQTT broker (`--mqtt`).

Maps each event to its topic, QoS and retention (docs/protocol.md, MQTT) and keeps one
connection with a reconnect loop. `publish` never waits on the broker: events go to this
node's desk at once and to a bounded queue for the broker; while the broker is away they
are dropped for other nodes, and coaching goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit

import aiomqtt
import msgspec
from paho.mqtt.subscribeoptions import SubscribeOptions

from models import codec
from models.wire import CallSummary, NodePresence, RelayedWhisper, ServerMessage, Transcript
from server.bus import LinkState, Listener, WhisperSink

log = logging.getLogger("sparring.mqtt")

PREFIX = "sparring/v1"
SESSIONS_FILTER = f"{PREFIX}/sessions/+/+"
NODES_FILTER = f"{PREFIX}/nodes/+"

# Reconnect backoff (docs/protocol.md): 1 s doubling to 30 s.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
# A half-open connection is noticed after 1.5 keepalives; a killed process at once (its
# socket closes), which is when the broker publishes the last will.
KEEPALIVE_S = 15
# Events are small and each should leave at once: Nagle's algorithm would hold one back
# until the previous one is acknowledged (tens of ms with delayed ACKs).
SOCKET_OPTIONS = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
# Publishes awaiting the broker (QoS 1) or the socket (QoS 0) at once; more wait in order
# behind them, so a remote broker does not slow the sender to one event per round trip.
MAX_IN_FLIGHT = 20
# MQTT 5's "no local": the broker does not send a node its own events back (half the
# messages a hosting node would otherwise read and skip).
SUBSCRIBE_OPTIONS = SubscribeOptions(qos=1, noLocal=True)
# On a clean stop, how long the last events and the offline presence may take.
STOP_FLUSH_S = 2.0


class _Route(NamedTuple):
    topic_kind: str  # last topic level
    qos: int
    retained: bool


# message type -> where it goes (docs/protocol.md, MQTT).
ROUTES: dict[str, _Route] = {
    "call": _Route("summary", 1, True),
    "state": _Route("state", 1, True),
    "nudge": _Route("nudge", 1, False),
    "transcript": _Route("transcript", 0, False),
    "metrics": _Route("metrics", 0, False),
    "checklist": _Route("checklist", 1, False),
    "audio_check": _Route("audio_check", 1, False),
    "report": _Route("report", 1, True),
}
WHISPER = "whisper"
RETAINED_KINDS = tuple(r.topic_kind for r in ROUTES.values() if r.retained)

_whisper_decoder = msgspec.json.Decoder(RelayedWhisper)
_presence_decoder = msgspec.json.Decoder(NodePresence)
_SEQ_FIELD = b'"seq":0,'


class _Outgoing(NamedTuple):
    topic: str
    payload: bytes  # b"" on a retained topic clears it
    qos: int
    retain: bool
    kind: str  # for the drop counter


class Broker(NamedTuple):
    """Where `--mqtt mqtt://[user:password@]host[:port]` points."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> Broker:
        """Reads an `mqtt://` or `mqtts://` URL.

        Raises:
            ValueError: another scheme, or no host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"--mqtt must be mqtt://host:port or mqtts://host:port, got {url!r}")
        if not parts.hostname:
            raise ValueError(f"--mqtt needs a host, got {url!r}")
        tls = parts.scheme == "mqtts"
        port = parts.port or (8883 if tls else 1883)
        return cls(parts.hostname, port, tls, parts.username, parts.password)


def session_topic(session_id: str, kind: str) -> str:
    """`sparring/v1/sessions/{id}/{kind}`."""
    return f"{PREFIX}/sessions/{session_id}/{kind}"


def node_topic(node: str) -> str:
    """`sparring/v1/nodes/{node}`: the node's retained presence."""
    return f"{PREFIX}/nodes/{node}"


def _payload(message: msgspec.Struct) -> bytes:
    """The wire message without `seq`, which only numbers a connection's own messages."""
    data = codec.encode(message)
    return data.replace(_SEQ_FIELD, b"", 1)


class MqttBus:
    """The bus of a node in a cluster: this node's desk, and the broker for the others.

    Call `start()` once the event loop runs and `stop()` before it ends. `publish` and
    `relay_whisper` are called from the event loop and never await.
    """

    def __init__(
        self,
        url: str,
        node: str,
        listener: Listener,
        *,
        hosts: Callable[[str], bool],
        on_whisper: WhisperSink,
        queue_limit: int = 10_000,
        clear_ended_after_s: float = 3600.0,
    ) -> None:
        """Builds the bus; nothing connects before `start()`.

        Args:
            url: The broker, `mqtt://host:1883`.
            node: This node's name (session ids start with it and a dot).
            listener: The trainer desk of this node.
            hosts: Whether this node hosts a session (its echo is skipped, whispers to it
                are applied).
            on_whisper: Applies a whisper relayed from another node to a call hosted here.
            queue_limit: Events waiting for the broker at most; more are dropped.
            clear_ended_after_s: When an ended call's retained messages are cleared.

        Raises:
            ValueError: `url` is not an MQTT URL.
        """
        self.broker = Broker.parse(url)
        self.node = node
        self.listener = listener
        self.published: Counter[str] = Counter()  # message type -> events published
        self.dropped: Counter[str] = Counter()  # topic kind -> not sent to the broker
        self.link: LinkState = "off"
        self._hosts = hosts
        self._on_whisper = on_whisper
        self._clear_ended_after_s = clear_ended_after_s
        self._queue: asyncio.Queue[_Outgoing] = asyncio.Queue(queue_limit)
        # Retained topics of this node's calls, last payload (b"": a clear not yet sent):
        # sent again after a reconnect, and how this node tells its own echo from leftovers.
        self._retained: dict[str, bytes] = {}
        self._ending: dict[str, asyncio.TimerHandle] = {}
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the broker takes events now."""
        return self._client is not None

    # --- the Bus interface ----------------------------------------------------------------

    def publish(self, session_id: str, message: ServerMessage) -> None:
        """Hands one event of a call hosted here to this node's desk and queues it for the broker."""
        kind = str(message.__struct_config__.tag)
        self.published[kind] += 1
        self.listener.on_event(session_id, message)
        route = ROUTES.get(kind)
        if route is None or (isinstance(message, Transcript) and not message.final):
            return
        topic = session_topic(session_id, route.topic_kind)
        payload = _payload(message)
        if route.retained:
            self._retained[topic] = payload
        self._send_later(_Outgoing(topic, payload, route.qos, route.retained, route.topic_kind))
        if isinstance(message, CallSummary):
            if message.private:  # what the call showed before it turned private goes
                self._clear(session_topic(session_id, "state"))
            if message.status == "ended":
                self._end(session_id)
        elif kind == "report":
            self._end(session_id)

    def relay_whisper(self, whisper: RelayedWhisper) -> bool:
        """Sends a trainer's whisper to the node hosting its call; False while disconnected."""
        if not self.connected:
            return False
        item = _Outgoing(
            session_topic(whisper.session, WHISPER), _payload(whisper), 1, False, WHISPER
        )
        return self._send_later(item)

    # --- lifetime -------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts connecting in the background and returns at once (the broker may be down)."""
        if self._task is None:
            self._set_link("reconnecting")
            self._task = asyncio.create_task(self._run(), name=f"mqtt[{self.node}]")

    async def stop(self) -> None:
        """Sends what is queued and the offline presence (when connected), then disconnects."""
        for handle in self._ending.values():
            handle.cancel()
        self._ending.clear()
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(STOP_FLUSH_S):
                    await self._queue.join()  # handed to paho, which sends in order
                    await client.publish(
                        node_topic(self.node), self._presence(online=False), qos=1, retain=True
                    )
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._client = None

    # --- the connection -------------------------------------------------------------------

    async def _run(self) -> None:
        retry_s = RETRY_FIRST_S
        while True:
            try:
                async with self._new_client() as client:
                    retry_s = RETRY_FIRST_S
                    await self._connected(client)
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._send(client, tasks), name=f"mqtt[{self.node}].send")
                        tasks.create_task(self._receive(client), name=f"mqtt[{self.node}].receive")
            except* aiomqtt.MqttError as group:
                log.warning("MQTT broker %s:%s: %s", *self.broker[:2], group.exceptions[0])
            except* Exception:  # a bug here must not end the bus for good
                log.exception("MQTT bus failed; reconnecting")
            self._disconnected()
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, RETRY_MAX_S)

    def _new_client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(node_topic(self.node), self._presence(online=False), qos=1, retain=True)
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            protocol=aiomqtt.ProtocolVersion.V5,
            username=self.broker.username,
            password=self.broker.password,
            identifier=f"sparring-{self.node}-{secrets.token_hex(4)}",
            will=will,
            keepalive=KEEPALIVE_S,
            socket_options=SOCKET_OPTIONS,
            tls_params=aiomqtt.TLSParameters() if self.broker.tls else None,
        )
        client.pending_calls_threshold = MAX_IN_FLIGHT + 2  # it warns beyond; we cap below
        return client

    async def _connected(self, client: aiomqtt.Client) -> None:
        """Presence first (so this node's own retained presence is fresh), then what was missed."""
        await client.publish(node_topic(self.node), self._presence(online=True), qos=1, retain=True)
        self._client = client
        for topic, payload in list(self._retained.items()):
            self._send_later(_Outgoing(topic, payload, 1, True, topic.rsplit("/", 1)[-1]))
        await client.subscribe(SESSIONS_FILTER, options=SUBSCRIBE_OPTIONS)
        await client.subscribe(NODES_FILTER, options=SUBSCRIBE_OPTIONS)
        log.info("MQTT connected to %s:%s as node %s", *self.broker[:2], self.node)
        self._set_link("connected")

    def _disconnected(self) -> None:
        """Events waiting for the broker are dropped: they would arrive stale."""
        self._client = None
        while not self._queue.empty():
            self.dropped[self._queue.get_nowait().kind] += 1
            self._queue.task_done()
        self._set_link("reconnecting")

    async def _send(self, client: aiomqtt.Client, tasks: asyncio.TaskGroup) -> None:
        # A publish reaches paho (in order) as its task first runs; the acknowledgements are
        # awaited in parallel, so a remote broker does not slow the sender to one per RTT.
        in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        while True:
            await in_flight.acquire()
            item = await self._queue.get()
            self._queue.task_done()
            tasks.create_task(self._send_one(client, item, in_flight))

    async def _send_one(
        self, client: aiomqtt.Client, item: _Outgoing, in_flight: asyncio.Semaphore
    ) -> None:
        try:
            await client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)
        finally:
            in_flight.release()
        if not item.payload and self._retained.get(item.topic) == b"":
            del self._retained[item.topic]  # the clear is done

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                self._received(message)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("MQTT: malformed payload on %s: %s", message.topic.value, exc)
            except Exception:  # the desk's fault; the next message may be fine
                log.exception("MQTT: could not handle a message on %s", message.topic.value)

    def _received(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        if not isinstance(payload, bytes | bytearray) or not payload:
            return  # a cleared retained topic
        levels = message.topic.value.split("/")
        if len(levels) == 4 and levels[2] == "nodes":
            presence = _presence_decoder.decode(payload)
            self.listener.on_node(presence.node, presence.online)
            return
        if len(levels) != 5 or levels[2] != "sessions":
            return
        session_id, kind = levels[3], levels[4]
        if self._hosts(session_id):
            if kind == WHISPER:
                whisper = _whisper_decoder.decode(payload)
                if whisper.session == session_id:
                    self._on_whisper(whisper)
            return  # this node's own echo
        if self._is_own(session_id):
            if message.retain and message.topic.value not in self._retained:
                self._clear(message.topic.value)  # left by an earlier run of this node
            return
        if kind != WHISPER:
            self.listener.on_event(session_id, codec.decode_server(payload))

    # --- helpers --------------------------------------------------------------------------

    def _send_later(self, item: _Outgoing) -> bool:
        if self._client is None:
            self.dropped[item.kind] += 1
            return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped[item.kind] += 1
            return False
        return True

    def _clear(self, topic: str) -> None:
        """Empties a retained topic (at the next connection, if the broker is away now)."""
        self._retained[topic] = b""
        self._send_later(_Outgoing(topic, b"", 1, True, topic.rsplit("/", 1)[-1]))

    def _end(self, session_id: str) -> None:
        """An ended call's retained messages go after `clear_ended_after_s`."""
        if session_id in self._ending:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to clear later
            loop = asyncio.get_running_loop()
            self._ending[session_id] = loop.call_later(
                self._clear_ended_after_s, self._clear_ended, session_id
            )

    def _clear_ended(self, session_id: str) -> None:
        del self._ending[session_id]
        for kind in RETAINED_KINDS:
            topic = session_topic(session_id, kind)
            if topic in self._retained:
                self._clear(topic)

    def _is_own(self, session_id: str) -> bool:
        """A session id of this node's (`node.xxxx`), hosted now or not."""
        head, dot, rest = session_id.partition(f"{self.node}.")
        return not head and bool(dot) and "." not in rest

    def _presence(self, *, online: bool) -> bytes:
        return codec.encode(NodePresence(node=self.node, online=online, at=time.time()))

    def _set_link(self, state: LinkState) -> None:
        if state != self.link:
            self.link = state
            self.listener.on_link(state)
