"""Two-party calls against a real server process, streamed as microphones would: what the
live benches share (soak.py, bench_capacity.py).

The server runs in a process of its own (`server_process`, which runs this module with
`--serve`), so that its CPU time and memory are its own. No measuring here: each bench
reads what the connections received.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
TRAINER_KEY = "soak-trainer-key"  # creates with the trainer key are not rate-limited
RATE_HZ = 16000
AUDIO = {"format": "pcm_s16le", "rate": RATE_HZ, "channels": 1}
SERVER_START_S = 120.0  # loading a model on a busy machine
# Set to a directory: the bench server writes tracemalloc snapshots there (soak.py --trace).
TRACEMALLOC_ENV = "SPARRING_BENCH_TRACEMALLOC"
TRACE_EVERY_S = 120.0
TRACE_EVERY_ENV = "SPARRING_BENCH_TRACE_EVERY_S"
TRACE_FRAMES = 8
# Set to a level name (e.g. DEBUG): the bench server's own loggers ("sparring.*") log at
# that level, e.g. each final that recognised nothing and why (`server/asr/pool.py`).
LOG_LEVEL_ENV = "SPARRING_BENCH_LOG_LEVEL"


# --- the server process -------------------------------------------------------------------


def serve(port_file: str, model: str, overrides: dict[str, Any]) -> None:
    """Runs the server until SIGTERM; writes its port to `port_file` once it listens.

    Args:
        port_file: Where to write the port.
        model: `Config.model`.
        overrides: Further `Config` fields (JSON values; lists become tuples).
    """
    from server.app import Server
    from server.config import Config

    fields = {
        "port": 0,
        "model": model,
        "trainer_key": TRAINER_KEY,
        "create_burst": 10_000,
        "creates_per_min": 10_000,
        "call_idle_s": 0,
        "max_call_s": 0,
    }
    fields |= {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    config = Config(**fields)

    trace_dir = os.environ.get(TRACEMALLOC_ENV)
    if os.environ.get(LOG_LEVEL_ENV):
        from server.logs import configure

        configure("text")
        logging.getLogger("sparring").setLevel(os.environ[LOG_LEVEL_ENV].upper())

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with Server(config) as srv:
            Path(port_file).write_text(str(srv.port))  # noqa: ASYNC240 - once, at start
            if trace_dir:
                async with asyncio.TaskGroup() as tasks:
                    tracer = tasks.create_task(trace_python_memory(Path(trace_dir)))
                    await stop.wait()
                    tracer.cancel()
            else:
                await stop.wait()

    asyncio.run(run())


async def trace_python_memory(directory: Path) -> None:
    """Writes a tracemalloc snapshot of the server every `TRACE_EVERY_S` (or the seconds in
    `TRACE_EVERY_ENV`), for a diagnosis of memory growth: Python's own allocations, where
    RSS adds native ones."""
    import tracemalloc

    tracemalloc.start(TRACE_FRAMES)
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once
    started = time.monotonic()
    every_s = float(os.environ.get(TRACE_EVERY_ENV, TRACE_EVERY_S))
    while True:
        await asyncio.sleep(every_s)
        elapsed = round(time.monotonic() - started)
        tracemalloc.take_snapshot().dump(str(directory / f"{elapsed:06d}.trace"))


class ServerDidNotStart(RuntimeError):
    """The server process exited or did not listen within `SERVER_START_S`."""


@dataclass(frozen=True, slots=True)
class ServerProcess:
    port: int
    pid: int


@contextlib.contextmanager
def server_process(
    model: str, overrides: dict[str, Any] | None = None, log_path: Path | None = None
) -> Iterator[ServerProcess]:
    """A server in its own process, for the duration of the block; SIGTERM at the end.

    Args:
        model: `Config.model` (tiny.en, none, ...).
        overrides: Further `Config` fields, JSON-serialisable.
        log_path: Where the server's output goes; None: this process's stdout and stderr.

    Raises:
        ServerDidNotStart: It exited, or did not listen in time.
    """
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as files:
        port_file = Path(tmp) / "port"
        output = files.enter_context(log_path.open("w")) if log_path else None
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.live_calls",
                "--serve",
                str(port_file),
                "--model",
                model,
                "--config",
                json.dumps(overrides or {}),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        try:
            deadline = time.monotonic() + SERVER_START_S
            while not port_file.exists() or not port_file.read_text():
                if server.poll() is not None:
                    raise ServerDidNotStart(f"the server exited with status {server.returncode}")
                if time.monotonic() > deadline:
                    raise ServerDidNotStart(f"the server did not listen within {SERVER_START_S} s")
                time.sleep(0.2)
            yield ServerProcess(int(port_file.read_text()), server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Conn:
    """One party's connection: what it received, when (wall time)."""

    role: str
    ws: ClientConnection
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    live: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in self.ws:
                message = json.loads(data)
                self.received.append((time.time(), message))
                if message.get("type") == "state" and message.get("live"):
                    self.live.set()

    def seq_gaps(self) -> int:
        seqs = [m.get("seq") for _, m in self.received]
        return sum(1 for i, s in enumerate(seqs) if s != i + 1)

    def of(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, m in self.received if m.get("type") == kind]


@dataclass
class CallRun:
    session: str
    rep_token: str
    rep: Conn
    customer: Conn
    started_at: float = 0.0  # wall time of audio time 0
    offset_frame: int = 0  # the frame of the looped call streamed first
    sent_s: float = 0.0  # session audio sent so far
    report: dict[str, Any] | None = None


async def http_get(port: int, path: str, token: str = "") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode()
    )
    raw = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def metric_values(exposition: bytes, name: str) -> dict[str, float]:
    """The samples of metric `name` in a Prometheus text exposition, by their label set
    (`'{outcome="completed"}'`; `''` for none)."""
    values = {}
    for line in exposition.decode().splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        labels = series[len(name) :]
        if labels == "" or labels.startswith("{"):
            values[labels] = float(value)
    return values


async def open_call(ws_url: str, i: int, label: str = "soak") -> CallRun:
    """Creates call `i`, joins both parties, both grant coaching and transcript; returns once
    it is live."""
    async with connect(ws_url, compression=None) as ws:
        await ws.send(json.dumps({"type": "create", "title": f"{label} {i}", "key": TRAINER_KEY}))
        created = json.loads(await ws.recv())
    conns = []
    for role in ("rep", "customer"):
        ws = await connect(ws_url, compression=None, max_size=1 << 22)
        conn = Conn(role, ws)
        conn.reader = asyncio.create_task(conn.read(), name=f"{label}[{i}].{role}")
        hello = {"type": "hello", "token": created["tokens"][role], "name": role, "audio": AUDIO}
        await ws.send(json.dumps(hello))
        consent = {"type": "consent", "granted": True, "scopes": ["coaching", "transcript"]}
        await ws.send(json.dumps(consent))
        conns.append(conn)
    await asyncio.wait_for(conns[0].live.wait(), 30)
    return CallRun(created["session"], created["tokens"]["rep"], conns[0], conns[1])


async def stream(
    call: CallRun,
    tracks: tuple[list[bytes], list[bytes]],
    until: float,
    *,
    offset_frame: int | None = None,
    lateness_s: list[float] | None = None,
    speed: float = 1.0,
    then_silence_s: float = 0.0,
) -> None:
    """Both parties' frames, each sent once its audio has passed, looping the call.

    Audio time t of the session is spoken at wall time `call.started_at + t`.

    Args:
        call: The live call.
        tracks: The rep's and the customer's frames (PCM16, 100 ms; the last may be short).
        until: Wall time after which no frame is sent.
        offset_frame: The frame to start from; None: a random one.
        lateness_s: Where to append how late each frame went out (after its due time).
        speed: Multiple of real time (a replay far faster than real time: `speed` 50).
        then_silence_s: After `until`, this much digital silence, as a microphone goes on
            after the last words until the call is ended: it ends the utterance under way.
    """
    n_frames = len(tracks[0])
    first = random.randrange(n_frames) if offset_frame is None else offset_frame % n_frames
    call.offset_frame = first
    start = call.started_at = time.time()
    sent_samples = 0
    for n in count():
        i = (first + n) % n_frames
        due = start + (sent_samples + len(tracks[0][i]) // 2) / RATE_HZ / speed
        if due > until:
            break
        await asyncio.sleep(max(0.0, due - time.time()))
        if lateness_s is not None:
            lateness_s.append(time.time() - due)
        await call.rep.ws.send(tracks[0][i])
        await call.customer.ws.send(tracks[1][i % len(tracks[1])])
        sent_samples += len(tracks[0][i]) // 2
        call.sent_s = sent_samples / RATE_HZ
    silence = bytes(2 * RATE_HZ // 10)  # 100 ms
    for _ in range(round(then_silence_s * 10)):
        due = start + (sent_samples + len(silence) // 2) / RATE_HZ / speed
        await asyncio.sleep(max(0.0, due - time.time()))
        await call.rep.ws.send(silence)
        await call.customer.ws.send(silence)
        sent_samples += len(silence) // 2
        call.sent_s = sent_samples / RATE_HZ


def main() -> None:
    parser = argparse.ArgumentParser(description="run a bench server (server_process)")
    parser.add_argument("--serve", metavar="PORT_FILE", required=True)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--config", default="{}", help="further Config fields, as JSON")
    args = parser.parse_args()
    serve(args.serve, args.model, json.loads(args.config))


if __name__ == "__main__":
    main()
