"""Soak: N two-party calls streamed in real time for M minutes (issue 12, item 7).

The server runs in a process of its own (`--serve`, started by this script) so that its
memory is its own: RSS is sampled from /proc every 5 s. Every call streams a bundled call
(client/calls), looped, both parties in 100 ms frames sent as a microphone would (each
frame once its 100 ms have passed). Reported per window (5 minutes; 30 s for runs under 10
minutes): server RSS, nudge delay and final-transcript delay (from the end of the audio
the event is about to its arrival), and at the end whether anything was lost:

- `seq` is continuous (1, 2, 3, …) on every connection;
- every nudge and final transcript the server produced (the call's report, read after the
  call with the rep's token, and the `sparring_nudges_total` counter) reached the rep, in
  the same order.

Memory is "flat" when, after the first window (warm-up), RSS stays within 5 %.
Usage: `python -m bench.soak` (40 calls, 60 minutes, tiny.en);
`python -m bench.soak --calls 4 --minutes 2 --model none` (the CI size).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.audio_io import ENGLISH_CALLS, call_frames
from bench.proc_memory import rss_mb

ROOT = Path(__file__).resolve().parents[1]
CALLS = ENGLISH_CALLS
FRAME_S = 0.1
SAMPLE_EVERY_S = 5.0
FLAT_WITHIN = 0.05  # RSS after warm-up stays within 5 %
TRAINER_KEY = "soak-trainer-key"
AUDIO = {"format": "pcm_s16le", "rate": 16000, "channels": 1}


# --- the server process -------------------------------------------------------------------


def serve(port_file: str, model: str) -> None:
    """Runs the server until SIGTERM; writes its port to `port_file` once it listens."""
    from server.app import Server
    from server.config import Config

    config = Config(
        port=0,
        model=model,
        trainer_key=TRAINER_KEY,
        create_burst=10_000,
        creates_per_min=10_000,
        call_idle_s=0,
        max_call_s=0,
    )

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with Server(config) as srv:
            Path(port_file).write_text(str(srv.port))  # noqa: ASYNC240 - once, at start
            await stop.wait()

    asyncio.run(run())


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


async def open_call(ws_url: str, i: int) -> CallRun:
    async with connect(ws_url, compression=None) as ws:
        await ws.send(json.dumps({"type": "create", "title": f"soak {i}", "key": TRAINER_KEY}))
        created = json.loads(await ws.recv())
    conns = []
    for role in ("rep", "customer"):
        ws = await connect(ws_url, compression=None, max_size=1 << 22)
        conn = Conn(role, ws)
        conn.reader = asyncio.create_task(conn.read(), name=f"soak[{i}].{role}")
        hello = {"type": "hello", "token": created["tokens"][role], "name": role, "audio": AUDIO}
        await ws.send(json.dumps(hello))
        consent = {"type": "consent", "granted": True, "scopes": ["coaching", "transcript"]}
        await ws.send(json.dumps(consent))
        conns.append(conn)
    await asyncio.wait_for(conns[0].live.wait(), 30)
    return CallRun(created["session"], created["tokens"]["rep"], conns[0], conns[1])


async def stream(call: CallRun, tracks: tuple[list[bytes], list[bytes]], until: float) -> None:
    """Both parties' frames, each sent once its 100 ms have passed, looping the call."""
    offset = random.randrange(len(tracks[0]))
    frames = cycle(range(len(tracks[0])))
    for _ in range(offset):
        next(frames)
    start = call.started_at = time.time()
    for n, i in enumerate(frames, start=1):
        due = start + n * FRAME_S
        if due > until:
            return
        await asyncio.sleep(max(0.0, due - time.time()))
        await call.rep.ws.send(tracks[0][i])
        await call.customer.ws.send(tracks[1][i % len(tracks[1])])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def soak(args: argparse.Namespace, port: int, pid: int) -> int:
    ws_url = f"ws://127.0.0.1:{port}/v1/live"
    tracks = call_frames(CALLS)
    window_s = 300.0 if args.minutes >= 10 else 30.0
    calls = [await open_call(ws_url, i) for i in range(args.calls)]
    t0 = time.time()
    until = t0 + args.minutes * 60
    rss: list[tuple[float, float]] = []

    async def sample() -> None:
        while True:
            rss.append((time.time() - t0, rss_mb(pid)))
            await asyncio.sleep(SAMPLE_EVERY_S)

    sampler = asyncio.create_task(sample(), name="soak.rss")
    names = cycle(CALLS)
    await asyncio.gather(*(stream(call, tracks[next(names)], until) for call in calls))
    await asyncio.sleep(3)  # the last finals of a model under load
    sampler.cancel()
    for call in calls:
        await call.rep.ws.send(json.dumps({"type": "end"}))
    for call in calls:
        for conn in (call.rep, call.customer):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.reader, 60)  # type: ignore[arg-type]
        status, body = await http_get(port, f"/v1/sessions/{call.session}/report", call.rep_token)
        call.report = json.loads(body) if status == 200 else None
    _, metrics = await http_get(port, "/metrics")
    nudges_counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.decode().splitlines()
        if line.startswith("sparring_nudges_total{")
    )
    return report(args, calls, rss, window_s, t0, nudges_counted)


def report(
    args: argparse.Namespace,
    calls: list[CallRun],
    rss: list[tuple[float, float]],
    window_s: float,
    t0: float,
    nudges_counted: float,
) -> int:
    windows = int(args.minutes * 60 // window_s) + 1
    nudge_delays: list[list[float]] = [[] for _ in range(windows)]
    final_delays: list[list[float]] = [[] for _ in range(windows)]
    lost = gaps = unordered = 0
    nudges_got = finals_got = nudges_made = finals_made = 0
    for call in calls:
        gaps += call.rep.seq_gaps() + call.customer.seq_gaps()
        got_nudges = [m for _, m in call.rep.of("nudge")]
        got_finals = [m for _, m in call.rep.of("transcript") if m.get("final")]
        nudges_got += len(got_nudges)
        finals_got += len(got_finals)
        for at, m in call.rep.of("nudge"):
            delay = at - (call.started_at + m["at"])
            nudge_delays[min(windows - 1, int((at - t0) // window_s))].append(delay)
        for at, m in call.rep.of("transcript"):
            if m.get("final"):
                delay = at - (call.started_at + m["end"])
                final_delays[min(windows - 1, int((at - t0) // window_s))].append(delay)
        if call.report is None:
            lost += 1
            continue
        made_nudges = [n["id"] for n in call.report["nudges"]]
        made_finals = [
            (t["speaker"], t["segment"]) for t in call.report["transcript"] if t["final"]
        ]
        nudges_made += len(made_nudges)
        finals_made += len(made_finals)
        ids = [m["id"] for m in got_nudges]
        keys = [(m["speaker"], m["segment"]) for m in got_finals]
        lost += len(set(made_nudges) - set(ids)) + len(set(made_finals) - set(keys))
        unordered += (ids != made_nudges) + (keys != made_finals)

    print(
        f"\nsoak: {args.calls} calls x {args.minutes:g} min, model {args.model}, "
        f"windows of {window_s:g} s\n"
    )
    print(
        "| window | server RSS MB | nudges | nudge delay p50 / p95 / max s | finals | final delay p50 / p95 / max s |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for w in range(windows):
        start, end = w * window_s, (w + 1) * window_s
        in_window = [mb for t, mb in rss if start <= t < end]
        if not in_window and not nudge_delays[w] and not final_delays[w]:
            continue
        mb = f"{in_window[-1]:.0f}" if in_window else "-"
        nd, fd = nudge_delays[w], final_delays[w]
        nudge = (
            f"{percentile(nd, 0.5):.2f} / {percentile(nd, 0.95):.2f} / {max(nd):.2f}" if nd else "-"
        )
        final = (
            f"{percentile(fd, 0.5):.2f} / {percentile(fd, 0.95):.2f} / {max(fd):.2f}" if fd else "-"
        )
        print(
            f"| {start / 60:.1f}-{end / 60:.1f} min | {mb} | {len(nd)} | {nudge} | {len(fd)} | {final} |"
        )
    after = [mb for t, mb in rss if t >= window_s]
    if len(after) >= 2:
        spread = (max(after) - min(after)) / min(after)
        flat = spread <= FLAT_WITHIN
        verdict = f"{'flat' if flat else 'NOT flat'}: {min(after):.0f}-{max(after):.0f} MB after warm-up ({spread:.1%}, limit {FLAT_WITHIN:.0%})"
    else:
        flat, verdict = True, "too short to judge after warm-up"
    print(
        f"\nmemory: {verdict}; samples every {SAMPLE_EVERY_S:g} s: "
        + " ".join(f"{mb:.0f}" for _, mb in rss)
    )
    print(
        f"nudges: {nudges_made} in the reports, {nudges_got} received, "
        f"{nudges_counted:.0f} counted by /metrics (sparring_nudges_total)"
    )
    print(f"finals: {finals_made} in the reports, {finals_got} received")
    if nudges_counted != nudges_got:
        lost += 1
    print(
        f"seq gaps: {gaps}; lost: {lost}; out of order: {unordered}; "
        f"all delays: nudges p50 {percentile(sum(nudge_delays, []), 0.5):.2f} s, "
        f"finals p50 {percentile(sum(final_delays, []), 0.5):.2f} s"
    )
    ok = gaps == 0 and lost == 0 and unordered == 0
    print("verdict: " + ("nothing lost" if ok else "LOST OR REORDERED"))
    return 0 if ok and (flat or not args.strict_memory) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--strict-memory", action="store_true", help="fail when RSS is not flat")
    parser.add_argument("--serve", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.model)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.soak", "--serve", str(port_file), "--model", args.model],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            deadline = time.monotonic() + 120
            while not port_file.exists() or not port_file.read_text():
                if server.poll() is not None or time.monotonic() > deadline:
                    print("the server did not start", file=sys.stderr)
                    return 2
                time.sleep(0.2)
            port = int(port_file.read_text())
            return asyncio.run(soak(args, port, server.pid))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
