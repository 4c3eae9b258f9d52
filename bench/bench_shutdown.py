"""Graceful shutdown: the time from SIGTERM to exit of `sparring serve` with live calls.

    .venv/bin/python bench/bench_shutdown.py                      # 40 calls + a reader that never reads
    .venv/bin/python bench/bench_shutdown.py --calls 40 --stuck 0  # without the stuck reader

Starts `sparring serve --model none` with its store in a temp directory, opens `--calls`
two-party calls that stream 100 ms frames of noise in real time, and `--stuck` observers
that stop reading at once (their socket is never read again: the kernel buffers fill, the
close handshake is never answered). Then sends SIGTERM and measures until the process
exits. Checks that every party got `error` `server_stopping`, the report link and the
final state, then a 1001 close, and that the exit code is 0. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from client.stream import Participant, create_session  # noqa: E402
from models import codec  # noqa: E402
from models.wire import AudioFormat, ErrorMessage, Hello, Report, State  # noqa: E402

FRAME_S = 0.1
RATE_HZ = 16000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("the server did not answer /healthz")


async def stream_noise(party: Participant, seed: int) -> None:
    """Real-time 100 ms frames of quiet noise until the connection closes."""
    rng = np.random.default_rng(seed)
    next_at = time.monotonic()
    with contextlib.suppress(Exception):
        while True:
            pcm = (rng.standard_normal(int(RATE_HZ * FRAME_S)) * 300).astype("<i2").tobytes()
            await party.send_audio(pcm)
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def run(calls: int, stuck: int, shutdown_s: float) -> dict[str, object]:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="sparring-shutdown-")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "client.cli", "serve", "--port", str(port), "--model", "none",
        "--data-dir", data_dir, "--create-burst", str(calls + 10),
        "--shutdown-s", str(shutdown_s),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    ws_url = f"ws://127.0.0.1:{port}/v1/live"
    parties: list[Participant] = []
    streams: list[asyncio.Task[None]] = []
    stuck_sockets = []
    try:
        await wait_healthy(port)
        fmt = AudioFormat(rate=RATE_HZ, channels=1)
        observers = []
        for i in range(calls):
            created = await create_session(ws_url, f"call {i}")
            rep = await Participant(ws_url, created.tokens.rep, "Anna", fmt).__aenter__()
            customer = await Participant(ws_url, created.tokens.customer, "Bob", fmt).__aenter__()
            await rep.consent()
            await customer.consent()
            parties += [rep, customer]
            observers.append(created.tokens.observer)
        await asyncio.wait_for(asyncio.gather(*(p.live.wait() for p in parties)), 30)
        streams = [asyncio.create_task(stream_noise(p, i)) for i, p in enumerate(parties)]
        for token in observers[:stuck]:
            ws = await connect(ws_url, compression=None)
            await ws.send(codec.encode(Hello(token=token, name="Stuck")).decode())
            ws.transport.pause_reading()  # never reads again, never answers the close
            stuck_sockets.append(ws)
        await asyncio.sleep(3.0)  # the calls run for a while
        sent_at = time.monotonic()
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait(), shutdown_s + 30)
        exit_s = time.monotonic() - sent_at
        code = server.returncode
        await asyncio.wait_for(asyncio.gather(*(p.ended.wait() for p in parties)), 10)
        told = sum(
            1
            for p in parties
            if any(isinstance(m, ErrorMessage) and m.code == "server_stopping" for m in p.messages)
            and any(isinstance(m, Report) and m.url for m in p.messages)
            and any(isinstance(m, State) and m.status == "ended" for m in p.messages)
        )
        closes = sorted({p._ws.close_code for p in parties if p._ws is not None}, key=str)
        return {
            "calls": calls,
            "stuck_readers": stuck,
            "exit_code": code,
            "sigterm_to_exit_s": round(exit_s, 2),
            "parties_told": told,
            "parties": len(parties),
            "close_codes": closes,
        }
    finally:
        for task in streams:
            task.cancel()
        for p in parties:
            with contextlib.suppress(Exception):
                await p.__aexit__()
        for ws in stuck_sockets:
            ws.transport.abort()
        if server.returncode is None:
            server.kill()
        await server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--stuck", type=int, default=1, help="observers that never read")
    parser.add_argument("--shutdown-s", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.calls, args.stuck, args.shutdown_s))))


if __name__ == "__main__":
    main()
