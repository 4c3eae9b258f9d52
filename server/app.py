"""Wiring only: the hub, the transports, the bus, the ASR pool and the metrics of one process.

Builds the parts and hands each only what it needs; holds no logic of its own. Nothing
imports this module but what starts a server (the CLI, the demo, tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import ssl
import time
from http import HTTPStatus
from pathlib import Path
from types import TracebackType

from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from models.errors import MissingPackage
from models.playbook import Playbook, default_playbook, load_playbook
from server.access import ReportAccess, ReportLinks
from server.aftercall import AfterCall
from server.allocator import Allocator
from server.archive import Archive
from server.asr.device import Placement, load_placed, resolve_placement
from server.asr.engine import Recognizer
from server.asr.languages import Recognizers
from server.asr.pool import AsrPool
from server.blas import limit_blas_threads
from server.bus import Bus
from server.bus.local import LocalBus
from server.config import Config
from server.core.hub import Expiry, SessionHub
from server.desk import TrainerDesk
from server.dispatch import Dispatcher
from server.history import History
from server.stats import AsrPoolCollector, Stats
from server.store import AsyncStore, StoreConfig
from server.trainers import Trainers
from server.transport.http import (
    Site,
    handle_http,
    metrics_response,
    refuse_repeated_headers,
    respond,
)
from server.transport.origin import Origins
from server.transport.ws import AddressLimits, LiveConnection, LiveServerConnection, LiveSettings
from server.voice import silero

log = logging.getLogger("sparring")

# One model, shared: on 2 cores, ASR_WORKERS recognitions in parallel with
# ASR_THREADS CTranslate2 threads each (see bench/bench_asr.py for the measurement).
ASR_WORKERS = 2
ASR_THREADS = 1
# On a GPU, workers are CUDA streams sharing one copy of the weights (CTranslate2,
# "Multithreading and parallelism") and CPU threads do not matter. Not measured here (no
# GPU); `--asr-workers` overrides it.
ASR_WORKERS_CUDA = 4
# websockets waits this long for a client's answer to a close before dropping it.
CLOSE_TIMEOUT_S = 5.0
# Expiry limits are in minutes; checking every 10 s keeps them within that of their time.
JANITOR_EVERY_S = 10.0
# Free pages go back to the system this often (server/allocator.py); a trim takes ~ms.
TRIM_EVERY_S = 30.0
# Shutdown: the share of `Config.shutdown_s` the last recognitions get; the rest is for
# keeping the calls and for the clients to take their report and close.
SHUTDOWN_ASR_SHARE = 0.5
# Clients get this long to take their last messages and close before being dropped.
SHUTDOWN_CLOSE_S = 2.0


class App:
    """The parts one server process shares across connections, wired together."""

    asr: AsrPool | None

    def __init__(self, config: Config) -> None:
        self.config = config
        playbooks: dict[str, Playbook] = {"default": default_playbook()}
        if config.playbook:
            custom = load_playbook(config.playbook)
            playbooks["default"] = custom
            playbooks[custom.name] = custom
        self.hub = SessionHub(
            playbooks,
            max_sessions=config.max_sessions,
            node=config.node,
            max_observers=config.max_observers,
            rejoin_grace_s=config.rejoin_grace_s,
            expiry=Expiry(
                never_joined_s=config.never_joined_s,
                everyone_left_s=config.everyone_left_s,
                idle_s=config.call_idle_s,
                max_call_s=config.max_call_s,
            ),
        )
        self.hub.pause_cut_s = config.asr_pause_cut_s
        if silero.available():  # faster-whisper ships the model; onnxruntime runs it
            self.hub.confirmer_factory = silero.SileroConfirmer
        self.asr = None
        self.recognizer: Recognizer | None = None  # the model loaded at start
        self.recognizers: Recognizers | None = None  # and the languages it serves, or loads
        self.placement: Placement | None = None  # where the models run (None: --model none)
        self._janitor: asyncio.Task[None] | None = None
        self.allocator = Allocator()
        self._trimmer: asyncio.Task[None] | None = None
        # Without a configured key, one is made for this process (the CLI prints it once).
        self.trainer_key = config.trainer_key or secrets.token_urlsafe(18).replace("-", "_")
        self.desk = TrainerDesk(config.node or "local")
        self.bus: Bus = self._bus(config)
        self.stats = Stats()
        self.dispatch = Dispatcher(self.hub, self.bus)
        self.trainers = Trainers(self.trainer_key, self.desk, self.hub, self.dispatch, self.bus)
        # The store opens in `start` (it may be PostgreSQL on another machine).
        self.store: AsyncStore | None = None
        self.archive: Archive | None = None
        self._purger: asyncio.Task[None] | None = None
        self.aftercall = AfterCall(self.hub, None)
        self.conns: set[LiveConnection] = set()  # open live connections (for shutdown)
        self.live = LiveSettings(
            trainer_key=self.trainer_key,
            default_language=config.language,
            public_url=config.public_url,
            tls=bool(config.certfile),
            create_needs_key=config.create_needs_key,
            hello_timeout_s=config.hello_timeout_s,
            audio_rate_x=config.audio_rate_x,
            audio_burst_s=config.audio_burst_s,
            consents_per_min=config.consents_per_min,
            whispers_per_min=config.whispers_per_min,
        )
        self.address_limits = AddressLimits(
            creates_per_min=config.creates_per_min,
            create_burst=config.create_burst,
            max_connections=config.max_connections_per_address,
        )
        self.origins = Origins(config.public_url, config.allow_origins)
        # One signing secret for the life of this process: report links die on a restart.
        self.report_links = ReportLinks()
        self.site = Site(
            reports=ReportAccess(self.hub, self.trainer_key, links=self.report_links),
            metrics=self.stats.exposition,
            people=History(lambda: self.archive, self.trainer_key, playbooks["default"]),
            default_language=config.language,
            metrics_key=config.metrics_key,
            metrics_here=config.metrics_listen is None,
        )
        hub, stats, bus = self.hub, self.stats, self.bus
        stats.gauge("sparring_sessions", "Open sessions", lambda: len(hub.sessions))
        stats.gauge(
            "sparring_sessions_live",
            "Live sessions",
            lambda: sum(1 for s in hub.sessions.values() if s.is_live),
        )
        connections = self.dispatch.connections
        stats.gauge("sparring_connections", "Open live connections", lambda: len(connections))
        stats.counter(
            "sparring_events_published",
            "Events published to trainers (the bus), by message type",
            lambda: {(kind,): n for kind, n in bus.published.items()},
            labels=("type",),
        )

    def _bus(self, config: Config) -> Bus:
        if not config.mqtt:
            return LocalBus(self.desk)
        try:
            from server.bus.mqtt import MqttBus  # the `mqtt` extra
        except ImportError as exc:
            raise MissingPackage(
                f"--mqtt needs the {exc.name or 'aiomqtt'} package, which is not installed:"
                " pip install 'sparring[mqtt]'"
            ) from None

        hub = self.hub
        return MqttBus(
            config.mqtt,
            config.node or "local",
            self.desk,
            hosts=lambda session_id: hub.get(session_id) is not None,
            on_whisper=lambda whisper: self.trainers.apply_relayed(whisper),
        )

    async def _open_store(self) -> None:
        """Opens the store (a clear `store_unavailable` error when it cannot be reached)."""
        config = self.config
        if not (config.db or config.data_dir):
            return
        kept = StoreConfig(
            db=config.db,
            data_dir=Path(config.data_dir) if config.data_dir else None,
            retention_days=config.retention_days,
        )
        stats = self.stats
        self.store = await AsyncStore.open(
            kept.target, on_failure=lambda failure: stats.store_write_lost(failure.what)
        )
        self.archive = Archive(self.store, self.hub.tokens_of, self.config.node or "local")
        self.dispatch.on_ended = self.archive.ended
        self.aftercall.archive = self.archive
        self.site = dataclasses.replace(
            self.site,
            reports=ReportAccess(self.hub, self.trainer_key, self.archive, self.report_links),
        )
        self._purger = asyncio.create_task(self.store.keep_purging(kept), name="app.purge")
        self.live = dataclasses.replace(self.live, retention_days=kept.retention_days)
        log.info(
            "calls are kept in %s for %d days", self.store.store.description, kept.retention_days
        )

    async def start(self) -> None:
        """Opens the store, connects the bus, loads the speech model, starts recognition."""
        if self.config.blas_threads is not None:
            limit_blas_threads(self.config.blas_threads)
        if self.config.trim_memory and self.allocator.cap_arenas():
            # Before the model's and the executor's threads make arenas of their own.
            self._trimmer = asyncio.create_task(self._trim_memory(), name="app.trim")
        await self._open_store()
        start_bus = getattr(self.bus, "start", None)
        if start_bus is not None:
            await start_bus()  # returns at once: a broker that is down never stops a node
        if self.hub.confirmer_factory is not None:
            # Load the second voice stage now, off the loop: its first load would stall
            # every call on this node for a moment (bench/bench_mqtt.py found it).
            await asyncio.get_running_loop().run_in_executor(None, self.hub.confirmer_factory)
        if self.config.model.lower() == "none":
            self._janitor = asyncio.create_task(self._expire_abandoned(), name="app.janitor")
            return
        self.placement = resolve_placement(self.config.device, self.config.compute_type)
        loop = asyncio.get_running_loop()
        # Under --device auto a GPU that fails to load falls back to the CPU: keep where it runs.
        self.recognizer, self.placement = await loop.run_in_executor(
            None, self._load_placed, self.config.model
        )
        log.info(
            "speech model %s loaded in %.2f s from %s, on %s",
            self.recognizer.name,
            self.recognizer.load_s,
            self.recognizer.model_info.path,
            self.placement.describe(),
        )
        multilingual = self.config.multilingual_model
        self.recognizers = Recognizers(
            self.recognizer,
            load=self._load_model,
            multilingual=None if multilingual.lower() == "none" else multilingual,
            on_change=self.dispatch.recognition_changed,
        )
        self.hub.transcribes = self.recognizers.transcribes
        self.hub.prepare_recognition = self.recognizers.prepare
        self.site = dataclasses.replace(self.site, languages=self.recognizers.languages)
        stats = self.stats
        self.asr = AsrPool(
            self.recognizers,
            self.dispatch.on_recognition,
            workers=self.recognizer.num_workers,
            merge_max_audio_s=self.config.asr_merge_s,
            greedy_when_behind=self.config.asr_greedy_behind,
            on_level=self.dispatch.on_degrade,
            on_latency=lambda job, seconds: stats.recognition_latency(job.final, seconds),
        )
        self.dispatch.use_asr(self.asr)
        self.recognizers.on_ready = self.asr.wake
        stats.register(AsrPoolCollector(self.asr.stats))
        await self.asr.start()

        self._janitor = asyncio.create_task(self._expire_abandoned(), name="app.janitor")

    def _load_model(self, spec: str) -> Recognizer:
        """Loads and warms up a speech model (blocking: run it in a worker thread)."""
        return self._load_placed(spec)[0]

    def _load_placed(self, spec: str) -> tuple[Recognizer, Placement]:
        """Loads and warms up a speech model where `placement` says, or on its fallback
        (blocking); returns it and where it runs."""
        assert self.placement is not None

        def load(placement: Placement) -> Recognizer:
            default_workers = ASR_WORKERS_CUDA if placement.device == "cuda" else ASR_WORKERS
            recognizer = Recognizer(
                spec,
                cpu_threads=ASR_THREADS,
                num_workers=self.config.asr_workers or default_workers,
                compute_type=placement.compute_type,
                device=placement.device,
                filler_prompt=self.config.filler_prompt,
            )
            # A cold first decode takes seconds; pay it before the first rep speaks. On a
            # GPU it is also where missing CUDA libraries show.
            recognizer.warm_up()
            return recognizer

        return load_placed(self.placement, load)

    async def _trim_memory(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TRIM_EVERY_S)
            await loop.run_in_executor(None, self.allocator.trim)

    async def _expire_abandoned(self) -> None:
        while True:
            await asyncio.sleep(JANITOR_EVERY_S)
            for session, reason in self.dispatch.expire_abandoned(time.time()):
                self.stats.limit_fired(reason.value)
                log.info(
                    "session %s ended by the server: %s",
                    session.id,
                    reason.value,
                    extra={"call": session.id, "limit": reason.value},
                )
            self.desk.expire()

    async def stop(self) -> None:
        for task in (self._janitor, self._trimmer):
            if task is not None:
                task.cancel()
        if self.asr is not None:
            await self.asr.close()
        stop_bus = getattr(self.bus, "stop", None)
        if stop_bus is not None:
            await stop_bus()
        if self.archive is not None:
            await self.archive.drain()
        if self._purger is not None:
            self._purger.cancel()
        if self.store is not None:
            for failure in await self.store.close():
                log.error(
                    "not kept: %s of %s (%s)", failure.what, failure.session, failure.error.message
                )

    async def shut_down(self) -> None:
        """Graceful shutdown, within `Config.shutdown_s` whatever the clients do.

        No call starts and nobody joins from now on; every open call ends as the rep's
        `end` would (its participants told `server_stopping`, then its report and final
        state); its last words are recognized while time allows and it is kept; every
        client is closed with 1001 and a client that does not take it is dropped.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_s
        calls = self.dispatch.stop_calls()
        for conn in list(self.conns):
            conn.stop()
        if self.asr is not None:
            asr_s = self.config.shutdown_s * SHUTDOWN_ASR_SHARE
            if not await self.asr.wait_idle(asr_s):
                log.warning("shutdown: recognition not finished in %.1f s", asr_s)
        self.dispatch.conclude_all()  # calls still waiting for their last finals close now
        if self.archive is not None:
            keep_s = max(0.1, deadline - loop.time() - SHUTDOWN_CLOSE_S)
            await self.archive.drain(keep_s, settle=True)
        close_by = min(deadline, loop.time() + SHUTDOWN_CLOSE_S)
        closing = [asyncio.create_task(c.ws.wait_closed()) for c in self.conns if not c.done]
        if closing:
            _, pending = await asyncio.wait(closing, timeout=max(0.0, close_by - loop.time()))
            for task in pending:
                task.cancel()
        stragglers = [c for c in self.conns if not c.done]
        for conn in stragglers:
            conn.abort()
        log.info(
            "shutdown: %d calls ended, %d connections dropped unclosed", calls, len(stragglers)
        )

    async def handle(self, ws: ServerConnection) -> None:
        conn = LiveConnection(
            ws,
            self.hub,
            self.dispatch,
            self.live,
            self.stats,
            self.trainers,
            self.aftercall,
            self.address_limits,
        )
        self.conns.add(conn)
        try:
            await conn.run()
        finally:
            self.conns.discard(conn)

    async def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        repeated = refuse_repeated_headers(request)  # before anything reads a header
        if repeated is not None:
            return repeated
        refused = self.origins.refuse(request)
        if refused is not None:
            self.stats.limit_fired("origin")
            log.warning("limit origin: upgrade refused", extra={"limit": "origin"})
            return refused
        return await handle_http(self.site, request)

    async def process_metrics(self, ws: ServerConnection, request: Request) -> Response | None:
        """The separate metrics address (`--metrics-listen`): /metrics and nothing else."""
        refused = refuse_repeated_headers(request)
        if refused is not None:
            return refused
        if request.path.split("?", 1)[0] == "/metrics":
            return metrics_response(self.site, request)
        return respond(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")


class Server:
    """An embedded Sparring server: `async with Server(Config(port=0)) as srv: srv.http_url`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = App(config)
        self._ws: WsServer | None = None
        self._metrics: WsServer | None = None
        self.metrics_url: str | None = None

    def _tls(self) -> ssl.SSLContext | None:
        if not self.config.certfile:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.certfile, self.config.keyfile)
        return context

    async def __aenter__(self) -> Server:
        await self.app.start()
        tls = self._tls()
        self._ws = await serve(
            self.app.handle,
            self.config.host,
            self.config.port,
            process_request=self.app.process_request,
            create_connection=LiveServerConnection,
            compression=None,  # audio does not compress; deflate would only cost CPU
            # Frames over 64 KiB get `too_big` from the reader; frames over this from
            # `LiveServerConnection`, before websockets' own close (nothing bigger is read).
            max_size=1 << 20,
            close_timeout=CLOSE_TIMEOUT_S,
            server_header="sparring",
            ssl=tls,
        )
        self.port, self.http_url = self._url_of(self._ws, tls)
        self.ws_url = self.http_url.replace("http", "ws", 1) + "/v1/live"
        if self.config.metrics_listen:
            host, _, port = self.config.metrics_listen.rpartition(":")
            self._metrics = await serve(
                self.app.handle,  # never reached: every request is answered over HTTP
                host.strip("[]") or "127.0.0.1",
                int(port),
                process_request=self.app.process_metrics,
                server_header="sparring",
                ssl=tls,
            )
            self.metrics_url = self._url_of(self._metrics, tls)[1] + "/metrics"
        self.app.live = dataclasses.replace(self.app.live, local_url=self.http_url)
        return self

    @staticmethod
    def _url_of(server: WsServer, tls: ssl.SSLContext | None) -> tuple[int, str]:
        sock = next(iter(server.sockets))
        host, port = sock.getsockname()[:2]
        shown = host if ":" not in host else f"[{host}]"
        return port, f"{'https' if tls else 'http'}://{shown}:{port}"

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._ws is not None
        await self.app.shut_down()
        if self._metrics is not None:
            self._metrics.close()
            await self._metrics.wait_closed()
        self._ws.close()
        await self._ws.wait_closed()
        await self.app.stop()

    async def serve_forever(self) -> None:
        await asyncio.Future()
