"""Wiring only: the hub, the transports, the bus and the ASR pool of one server process."""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

import numpy as np
from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from models.playbook import Playbook, default_playbook, load_playbook
from models.recognition import SegmentRecognized
from models.wire import Role
from server.asr.engine import Recognizer
from server.asr.jobs import AsrJob, Recognition
from server.asr.pool import AsrPool
from server.bus.local import LocalBus
from server.config import Config
from server.core.hub import SessionHub
from server.core.session import Outputs, Session
from server.stats import Stats
from server.transport.http import handle_http
from server.transport.ws import LiveConnection

log = logging.getLogger("sparring")

# One model, shared: on 2 cores, ASR_WORKERS recognitions in parallel with
# ASR_THREADS CTranslate2 threads each (see bench/bench_asr.py for the measurement).
ASR_WORKERS = 2
ASR_THREADS = 1
JANITOR_EVERY_S = 60.0


class App:
    """Everything one server process shares across connections."""

    asr: AsrPool | None

    def __init__(self, config: Config) -> None:
        self.config = config
        playbooks: dict[str, Playbook] = {"default": default_playbook()}
        if config.playbook:
            custom = load_playbook(config.playbook)
            playbooks["default"] = custom
            playbooks[custom.name] = custom
        self.hub = SessionHub(playbooks, max_sessions=config.max_sessions)
        self.asr = None
        self.recognizer: Recognizer | None = None
        self._janitor: asyncio.Task[None] | None = None
        self.bus = LocalBus()
        self.stats = Stats()
        self.connections: dict[str, LiveConnection] = {}
        self.http_url = ""

    async def start(self) -> None:
        """Loads the speech model (once per process) and starts the recognition pool."""
        if self.config.model.lower() == "none":
            self._janitor = asyncio.create_task(self._expire_abandoned(), name="app.janitor")
            return
        loop = asyncio.get_running_loop()
        workers = self.config.asr_workers or ASR_WORKERS
        self.recognizer = await loop.run_in_executor(
            None,
            lambda: Recognizer(
                self.config.model,
                cpu_threads=ASR_THREADS,
                num_workers=workers,
                filler_prompt=self.config.filler_prompt,
            ),
        )
        # A cold first decode takes seconds; pay it before the first rep speaks.
        await loop.run_in_executor(None, self.recognizer.warm_up)
        log.info(
            "speech model %s loaded in %.2f s from %s",
            self.recognizer.name,
            self.recognizer.load_s,
            self.recognizer.model_info.path,
        )
        self.hub.transcribes = self.recognizer.supports
        self.asr = AsrPool(self.recognizer, self._on_recognition, workers=workers)
        await self.asr.start()

        self._janitor = asyncio.create_task(self._expire_abandoned(), name="app.janitor")

    async def _expire_abandoned(self) -> None:
        while True:
            await asyncio.sleep(JANITOR_EVERY_S)
            for session in self.hub.expire(time.time()):
                log.info("session %s ended: nobody connected for an hour", session.id)
                if self.asr is not None:
                    self.asr.cancel_session(session.id)

    async def stop(self) -> None:
        if self._janitor is not None:
            self._janitor.cancel()
        if self.asr is not None:
            await self.asr.close()

    def _on_recognition(self, job: AsrJob, recognition: Recognition) -> None:
        session = self.hub.get(job.session_id)
        if session is None:
            return
        result = SegmentRecognized(
            speaker=Role(job.speaker),
            segment=job.segment,
            final=job.final,
            start_s=job.start_s,
            words=recognition.words,
            language=recognition.language,
            language_probability=recognition.language_probability,
        )
        self.carry_out(session, session.on_recognition(result))

    def before_audio(self, session: Session) -> None:
        """Tells the session how often partials are affordable now (degrades under load)."""
        if self.asr is not None and session.asr:
            session.set_partial_interval(self.asr.partial_interval_s())

    def carry_out(self, session: Session, out: Outputs, arrived_at: float = 0.0) -> None:
        """Carries out a core command's outputs, in the order the core requires."""
        connections = self.connections
        for pid, message in out.sends:
            conn = connections.get(pid)
            if conn is not None:
                conn.enqueue(message, arrived_at)
        for message in out.publish:
            self.bus.publish(session.id, message)
        if self.asr is not None:
            now = time.monotonic()
            for request in out.asr_jobs:
                audio = np.frombuffer(request.pcm, dtype="<i2").astype(np.float32) / 32768.0
                self.asr.submit(
                    AsrJob(
                        session_id=session.id,
                        speaker=request.speaker.value,  # type: ignore[arg-type]
                        segment=request.segment,
                        final=request.final,
                        audio=audio,
                        start_s=request.start_s,
                        language=request.language,
                        submitted_at_s=now,
                        prompt=request.prompt,
                    )
                )
            if out.cancel_asr:
                self.asr.cancel_session(session.id)
            for speaker in out.cancel_speakers:
                self.asr.cancel_session(session.id, speaker.value)
        for pid in out.closes:
            conn = connections.pop(pid, None)
            if conn is not None:
                conn.close_soon(1000)
        if session.is_ended:
            self.hub.retire(session)

    def public_base_url(self, ws: ServerConnection) -> str:
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        host = ws.request.headers.get("Host") if ws.request else None
        proto = ws.request.headers.get("X-Forwarded-Proto", "http") if ws.request else "http"
        return f"{proto}://{host}" if host else self.http_url

    async def handle(self, ws: ServerConnection) -> None:
        await LiveConnection(ws, self).run()

    def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        return handle_http(self, request)


class Server:
    """An embedded Sparring server: `async with Server(Config(port=0)) as srv: srv.http_url`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = App(config)
        self._ws: WsServer | None = None

    async def __aenter__(self) -> Server:
        await self.app.start()
        self._ws = await serve(
            self.app.handle,
            self.config.host,
            self.config.port,
            process_request=self.app.process_request,
            compression=None,  # audio does not compress; deflate would only cost CPU
            max_size=1 << 20,  # larger frames than 64 KiB get a coded error first
            server_header="sparring",
        )
        sock = next(iter(self._ws.sockets))
        host, port = sock.getsockname()[:2]
        self.port = port
        shown = host if ":" not in host else f"[{host}]"
        self.http_url = f"http://{shown}:{port}"
        self.ws_url = f"ws://{shown}:{port}/v1/live"
        self.app.http_url = self.http_url
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._ws is not None
        self._ws.close()
        await self._ws.wait_closed()
        await self.app.stop()

    async def serve_forever(self) -> None:
        await asyncio.Future()
