#!/usr/bin/env python
"""Concurrent live sessions: nudge latency, event-loop lag and server CPU per stream.

Steps the load (e.g. 50, 100, 200, 300, 400 sessions of two parties each) against a
Sparring server with speech recognition off, then the same load against a bare
`websockets` server that only runs webrtcvad on 30 ms frames (the baseline).

Processes (so that each one's CPU is measured on its own):

- the server: a `multiprocessing` child running `server.app.Server` in its own event
  loop. It adds nothing to the server: the harness around it reads the server's raw
  `app.stats.nudge_latencies_s` (from the arrival of the audio frame whose processing
  produced a nudge to the nudge written on the rep's socket) and runs a loop-lag probe
  (a task that sleeps 10 ms and records the oversleep);
- `--clients` load generators (asyncio, `client.stream.Participant`): every party
  streams the bundled `pushy` call in real time in 100 ms frames, looped, each session
  from its own random rotation of the call and starting at a random offset in the first
  `--spread` seconds; each party records how late each frame was sent against its
  real-time schedule (the deadline is fixed: a late frame is followed by catch-up);
- this process: orchestrates and reads every process's CPU time from /proc/<pid>/stat.

Nudges with the shipped playbook are sparse (45 s warm-up, one per 20 s), so the server
runs a bench playbook (written to a temp TOML, `BENCH_PLAYBOOK`) with a 3 s warm-up, 2 s
gaps and low thresholds: about 7-8 nudges per session-minute on `pushy`.

    .venv/bin/python bench/bench_sessions.py                     # 50..400 sessions, ~5 min
    .venv/bin/python bench/bench_sessions.py --sessions 200 --seconds 30
    .venv/bin/python bench/bench_sessions.py --sessions 400 --profile /tmp/srv.prof --no-baseline

The machine has few cores: clients and server compete for them, so the table also gives
the clients' CPU and what other processes used (`other%`); client lateness tells whether
the load generator itself kept real time. On a shared machine, each step is measured in
`--chunk` s pieces; a piece during which other processes used more than `--max-other` %
of one core is set aside (`clean_s` counts the kept seconds; a step that cannot collect
half its `--seconds` clean within `--step-limit` x `--seconds` uses everything and is
flagged "contended"). The server and each client call setsid(): with the kernel's
autogroup scheduler, a process left in the bench's session would split one CPU share
with the load generators, as no real deployment would.

Verdict per Sparring step ("ok"): raw nudge latency p99 < 50 ms and every session live.
Default run: about 4.5 min on a quiet machine, up to about 7 min on a busy one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CALLS = ROOT / "client" / "calls"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FRAME_S = 0.1  # 100 ms frames, as the browser sends
VAD_FRAME_BYTES = 960  # 30 ms of 16 kHz PCM16
LAG_PROBE_S = 0.010
LATENCY_BOUND_S = 0.050

BENCH_PLAYBOOK = """\
# Bench playbook: nudges often, so that a 20-30 s step yields hundreds of latency samples.
name = "bench"
[pacing]
warmup_s = 3
min_gap_s = 2
rule_cooldown_s = 2
[rules.talk_ratio]
threshold = 0.55
recover_below = 0.50
window_s = 6
min_window_speech_s = 2
[rules.monologue]
threshold_s = 3
pause_s = 0.5
[rules.interruption]
count = 1
[rules.patience]
threshold_s = 0.45
last_n = 1
[rules.dead_air]
threshold_s = 0.5
"""


# --- small helpers -------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return total - idle, total


class LagProbe:
    """Sleeps 10 ms in a loop and records the oversleep: the event loop's lag."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            t = clock()
            await asyncio.sleep(LAG_PROBE_S)
            self.samples.append(clock() - t - LAG_PROBE_S)

    def take(self) -> list[float]:
        out, self.samples = self.samples, []
        return out


def _serve_commands(conn: Any, loop: asyncio.AbstractEventLoop, handler: Any) -> None:
    """Runs in a thread: each command from the pipe runs as a coroutine on the loop."""
    while True:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            return
        fut = asyncio.run_coroutine_threadsafe(handler(*cmd), loop)
        try:
            result = fut.result()
        except Exception as exc:  # report, keep serving
            result = {"error": repr(exc)}
        conn.send(result)
        if cmd[0] == "stop":
            return


# --- server process ------------------------------------------------------------------------


def _own_session(enabled: bool) -> None:
    """Starts a session of its own, as a daemon would: with the kernel's autogroup
    scheduling (sched_autogroup_enabled=1) CPU is shared fairly between sessions, so a
    process in the bench's session would split one share with the load generators."""
    if enabled:
        with contextlib.suppress(OSError):
            os.setsid()


def server_main(kind: str, playbook_path: str, own_session: bool, conn: Any) -> None:
    _own_session(own_session)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_server(kind, playbook_path, conn))


class GcWatch:
    """Records the duration of each garbage collection in this process (gen, seconds)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._t))

    def take(self) -> list[tuple[int, float]]:
        out, self.pauses = self.pauses, []
        return out


async def _server(kind: str, playbook_path: str, conn: Any) -> None:
    loop = asyncio.get_running_loop()
    probe = LagProbe()
    probe.start()
    gcw = GcWatch()
    stop = asyncio.Event()
    profiler = None

    if kind == "sparring":
        from server.app import Server
        from server.config import Config

        server_cm: Any = Server(
            Config(  # every client is on loopback here: one address, as many as it needs
                port=0,
                model="none",
                playbook=playbook_path,
                max_sessions=100_000,
                create_burst=100_000,
                max_connections_per_address=100_000,
            )
        )
    else:
        server_cm = BaselineServer()

    async with server_cm as srv:

        async def handle(cmd: str, *args: Any) -> Any:
            nonlocal profiler
            if cmd == "snapshot":
                out: dict[str, Any] = {"lag_s": probe.take(), "gc": gcw.take()}
                if kind == "sparring":
                    lat = srv.app.stats.nudge_latencies_s
                    out["latencies_s"] = list(lat)
                    lat.clear()
                    out["sessions_live"] = sum(
                        1 for s in srv.app.hub.sessions.values() if s.is_live
                    )
                    out["connections"] = len(srv.app.dispatch.connections)
                else:
                    out["connections"] = srv.connections
                    out["vad_frames"] = srv.vad_frames
                return out
            if cmd == "objects":  # diagnostics: what the collector has to walk
                from collections import Counter

                objs = gc.get_objects()
                top = Counter(type(o).__qualname__ for o in objs).most_common(
                    args[0] if args else 15
                )
                return {
                    "tracked": len(objs),
                    "top": top,
                    "counts": gc.get_count(),
                    "thresholds": gc.get_threshold(),
                }
            if cmd == "profile_start":
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()  # this coroutine runs on the loop thread
                return True
            if cmd == "profile_stop":
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(args[0])
                return True
            if cmd == "stop":
                loop.call_later(0.2, stop.set)  # after the reply went out
                return True
            raise ValueError(cmd)

        threading.Thread(target=_serve_commands, args=(conn, loop, handle), daemon=True).start()
        conn.send({"ws_url": srv.ws_url, "pid": os.getpid()})
        await stop.wait()


class BaselineServer:
    """A bare websockets server: buffers each stream and runs webrtcvad on 30 ms frames."""

    def __init__(self) -> None:
        self.connections = 0
        self.vad_frames = 0
        self.ws_url = ""

    async def _handle(self, ws: Any) -> None:
        import webrtcvad

        vad = webrtcvad.Vad(2)
        is_speech = vad.is_speech
        buf = bytearray()
        self.connections += 1
        try:
            async for data in ws:
                if isinstance(data, str):
                    continue
                buf += data
                n = len(buf) // VAD_FRAME_BYTES
                view = memoryview(buf)
                for i in range(n):
                    is_speech(bytes(view[i * VAD_FRAME_BYTES : (i + 1) * VAD_FRAME_BYTES]), 16000)
                view.release()
                del buf[: n * VAD_FRAME_BYTES]
                self.vad_frames += n
        except Exception:
            pass
        finally:
            self.connections -= 1

    async def __aenter__(self) -> BaselineServer:
        from websockets.asyncio.server import serve

        self._ws = await serve(self._handle, "127.0.0.1", 0, compression=None, max_size=1 << 20)
        port = next(iter(self._ws.sockets)).getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}/v1/live"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws.close()
        await self._ws.wait_closed()


# --- client (load generator) process -------------------------------------------------------


def client_main(index: int, seed: int, own_session: bool, conn: Any) -> None:
    _own_session(own_session)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(LoadClient(index, seed).run(conn))


class LoadClient:
    """Many sessions in one event loop; each party streams its own track in real time."""

    def __init__(self, index: int, seed: int) -> None:
        from client.stream import read_audio

        self.index = index
        self.rng = random.Random(seed)
        rep = list(read_audio(CALLS / "pushy.rep.flac").frames(FRAME_S))
        customer = list(read_audio(CALLS / "pushy.customer.flac").frames(FRAME_S))
        n = min(len(rep), len(customer))
        full = len(rep[0])
        n = max(i + 1 for i in range(n) if len(rep[i]) == full and len(customer[i]) == full)
        self.tracks = (rep[:n], customer[:n])  # whole frames only, so the loop stays aligned
        self.n_frames = n
        self.late_s: list[float] = []
        self.frames_sent = 0
        self.nudges = 0
        self.errors = 0
        self.dropped = 0
        self.parties: list[Any] = []
        self.raw: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.probe = LagProbe()

    async def run(self, conn: Any) -> None:
        loop = asyncio.get_running_loop()
        self.probe.start()
        self.stop = asyncio.Event()
        threading.Thread(
            target=_serve_commands, args=(conn, loop, self.handle), daemon=True
        ).start()
        conn.send({"pid": os.getpid()})
        await self.stop.wait()

    async def handle(self, cmd: str, *args: Any) -> Any:
        if cmd == "add":
            return await self.add(*args)
        if cmd == "reset":
            self.late_s = []
            self.frames_sent = self.nudges = self.errors = 0
            self.probe.take()
            return True
        if cmd == "report":
            late = self.late_s
            self.late_s = []
            out = {
                "late_s": late,
                "frames": self.frames_sent,
                "nudges": self.nudges,
                "errors": self.errors,
                "dropped": self.dropped,
                "lag_s": self.probe.take(),
            }
            self.frames_sent = self.nudges = self.errors = 0
            return out
        if cmd == "stop":
            for t in self.tasks:
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            closes = [p.__aexit__(None, None, None) for p in self.parties]
            closes += [ws.close() for ws in self.raw]
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closes, return_exceptions=True), 10)
            asyncio.get_running_loop().call_later(0.2, self.stop.set)  # after the reply went out
            return True
        raise ValueError(cmd)

    async def add(self, kind: str, ws_url: str, count: int, spread_s: float) -> dict[str, Any]:
        """Opens `count` sessions (both parties live), then starts their streams."""
        gate = asyncio.Semaphore(16)
        t0 = time.monotonic()
        results = await asyncio.gather(
            *(self._open(kind, ws_url, gate) for _ in range(count)), return_exceptions=True
        )
        opened = [r for r in results if not isinstance(r, BaseException)]
        failed = [repr(r) for r in results if isinstance(r, BaseException)]
        now = time.monotonic()
        for senders in opened:
            start = now + self.rng.uniform(0.0, spread_s)
            rotation = self.rng.randrange(self.n_frames)
            for send, track in zip(senders, self.tracks, strict=True):
                self.tasks.append(asyncio.create_task(self._stream(send, track, rotation, start)))
        return {"opened": len(opened), "failed": failed[:3], "setup_s": now - t0}

    async def _open(self, kind: str, ws_url: str, gate: asyncio.Semaphore) -> tuple[Any, Any]:
        async with gate:
            if kind == "baseline":
                from websockets.asyncio.client import connect

                pair = []
                for _ in range(2):
                    ws = await connect(ws_url, compression=None)
                    self.raw.append(ws)
                    pair.append(ws.send)
                return pair[0], pair[1]
            from client.stream import Participant, create_session
            from models.wire import AudioFormat, ErrorMessage, Nudge

            def on_message(message: Any) -> None:
                if isinstance(message, Nudge):
                    self.nudges += 1
                elif isinstance(message, ErrorMessage):
                    self.errors += 1

            created = await create_session(ws_url, title="bench")
            fmt = AudioFormat(rate=16000, channels=1)
            rep = Participant(ws_url, created.tokens.rep, "Rep", fmt, on_message=on_message)
            customer = Participant(
                ws_url, created.tokens.customer, "Customer", fmt, on_message=on_message
            )
            for p in (rep, customer):
                await p.__aenter__()
                self.parties.append(p)
            await rep.consent()
            await customer.consent()
            await asyncio.wait_for(asyncio.gather(rep.live.wait(), customer.live.wait()), 15)
            # Participant.messages would keep every metrics message for the whole run.
            rep.messages = _Discard()
            customer.messages = _Discard()
            return rep.send_audio, customer.send_audio

    async def _stream(self, send: Any, track: list[bytes], rotation: int, start: float) -> None:
        clock = time.monotonic
        n = len(track)
        i = 0
        try:
            while True:
                deadline = start + i * FRAME_S
                delay = deadline - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                await send(track[(rotation + i) % n])
                self.late_s.append(clock() - deadline)
                self.frames_sent += 1
                i += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            self.dropped += 1


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        pass


# --- orchestration ---------------------------------------------------------------------------


class Proc:
    """A child process and the pipe that commands it."""

    def __init__(self, ctx: Any, target: Any, args: tuple[Any, ...]) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(*args, child), daemon=True)
        self.proc.start()
        child.close()
        self.hello = self.recv(120)
        self.pid: int = self.hello["pid"]

    def send(self, *cmd: Any) -> None:
        self.conn.send(cmd)

    def recv(self, timeout: float = 300) -> Any:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"child {self.proc.pid} did not answer in {timeout} s")
        return self.conn.recv()

    def call(self, *cmd: Any, timeout: float = 300) -> Any:
        self.send(*cmd)
        return self.recv(timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("stop", timeout=30)
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)


def wait_for_quiet(ours: list[int], max_other: float, timeout: float) -> tuple[float, float]:
    """Waits until processes outside this bench use under `max_other` % of one core (1 s samples)."""
    t0 = time.monotonic()
    ncpu = os.cpu_count() or 1
    while True:
        c0 = sum(cpu_seconds(p) for p in ours)
        b0 = machine_busy()
        w0 = time.monotonic()
        time.sleep(1.0)
        c1 = sum(cpu_seconds(p) for p in ours)
        b1 = machine_busy()
        wall = time.monotonic() - w0
        busy = (b1[0] - b0[0]) / max(1, b1[1] - b0[1]) * 100 * ncpu
        other = busy - (c1 - c0) / wall * 100
        if other <= max_other or time.monotonic() - t0 >= timeout:
            return time.monotonic() - t0 - 1.0, other


class Window:
    """What one or more measured chunks of a step add up to."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu: dict[int, float] = {}
        self.busy = [0, 0]
        self.snap: dict[str, Any] = {"latencies_s": [], "lag_s": [], "gc": []}
        self.reports: list[dict[str, Any]] = []
        self.chunks = 0

    def add(self, other: Window) -> None:
        self.wall += other.wall
        for pid, v in other.cpu.items():
            self.cpu[pid] = self.cpu.get(pid, 0.0) + v
        self.busy[0] += other.busy[0]
        self.busy[1] += other.busy[1]
        for key in ("latencies_s", "lag_s", "gc"):
            self.snap[key] = self.snap[key] + other.snap.get(key, [])
        for key in ("connections", "sessions_live"):
            if key in other.snap:
                self.snap[key] = other.snap[key]
        self.reports += other.reports
        self.chunks += other.chunks

    def other_pct(self, ours: list[int]) -> float:
        machine = self.busy[0] / max(1, self.busy[1]) * 100 * (os.cpu_count() or 1)
        return machine - sum(self.cpu.get(p, 0.0) for p in ours) / max(self.wall, 1e-9) * 100


def measure_chunk(server: Proc, clients: list[Proc], seconds: float) -> Window:
    server.call("snapshot")  # drops what came before
    for c in clients:
        c.call("reset")
    procs = (server, *clients)
    cpu0 = {p.pid: cpu_seconds(p.pid) for p in procs}
    busy0 = machine_busy()
    t0 = time.monotonic()
    time.sleep(seconds)
    w = Window()
    w.wall = time.monotonic() - t0
    w.cpu = {p.pid: cpu_seconds(p.pid) - cpu0[p.pid] for p in procs}
    busy1 = machine_busy()
    w.busy = [busy1[0] - busy0[0], busy1[1] - busy0[1]]
    w.snap = server.call("snapshot")
    w.reports = [c.call("report") for c in clients]
    w.chunks = 1
    return w


def measure_step(
    kind: str,
    sessions: int,
    seconds: float,
    args: argparse.Namespace,
    server: Proc,
    clients: list[Proc],
) -> dict[str, Any]:
    """Measures `seconds` of steady streaming in chunks, keeping those without contention.

    The machine may be shared: a chunk during which processes outside the bench used more
    than --max-other % of one core is set aside. After --step-limit x seconds without
    enough clean chunks, everything measured is used and the row is flagged.
    """
    ours = [server.pid] + [c.pid for c in clients]
    clean, dirty = Window(), Window()
    t_step = time.monotonic()
    deadline = t_step + args.step_limit * seconds
    while clean.wall < seconds - 0.5 and time.monotonic() < deadline:
        if args.quiet_wait > 0:
            wait_for_quiet(
                ours, args.max_other, min(args.quiet_wait, max(0.0, deadline - time.monotonic()))
            )
        chunk_s = max(2.0, min(args.chunk, seconds - clean.wall))
        w = measure_chunk(server, clients, chunk_s)
        (clean if w.other_pct(ours) <= args.max_other else dirty).add(w)
    total = Window()
    total.add(clean)
    if clean.wall < 0.5 * seconds:  # not enough quiet time: use all, flagged
        total.add(dirty)
    row = summarize(kind, sessions, total, server.pid)
    row["contended"] = clean.wall < 0.5 * seconds
    row["clean_s"] = round(clean.wall, 1)
    row["discarded_s"] = round(dirty.wall, 1)
    row["step_s"] = round(time.monotonic() - t_step, 1)
    return row


def run_mode(kind: str, args: argparse.Namespace, playbook_path: str) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    server = Proc(ctx, server_main, (kind, playbook_path, not args.no_setsid))
    ws_url = server.hello["ws_url"]
    clients = [
        Proc(ctx, client_main, (i, args.seed * 1000 + i, not args.no_setsid))
        for i in range(args.clients)
    ]
    seconds = args.seconds if kind == "sparring" else args.baseline_seconds
    settle = args.spread + (args.settle if kind == "sparring" else 1.0)
    rows: list[dict[str, Any]] = []
    current = 0
    failures = 0
    try:
        for target in args.sessions:
            add = target - current
            if add > 0:
                shares = [
                    add // len(clients) + (1 if i < add % len(clients) else 0)
                    for i in range(len(clients))
                ]
                for c, share in zip(clients, shares, strict=True):
                    c.send("add", kind, ws_url, share, args.spread)
                setups = [c.recv(600) for c in clients]
                opened = sum(s.get("opened", 0) for s in setups)
                failed = [
                    f
                    for s in setups
                    for f in s.get("failed", []) + ([s["error"]] if "error" in s else [])
                ]
                if failed:
                    print(
                        f"  [{kind}] {add - opened} of {add} sessions failed to open: {failed[:2]}",
                        flush=True,
                    )
                current += opened
            time.sleep(settle)
            profile = bool(args.profile) and kind == "sparring" and target == args.sessions[-1]
            if profile:
                server.call("profile_start")
            row = measure_step(kind, current, seconds, args, server, clients)
            if profile:
                server.call("profile_stop", args.profile)
            row["profiled"] = bool(profile)
            rows.append(row)
            print_row(row)
            if kind == "sparring" and not row["ok"]:
                failures += 1
                if args.stop_after_fail and failures >= args.stop_after_fail:
                    print(f"  [{kind}] stopping after {failures} failing step(s)", flush=True)
                    break
    finally:
        for c in clients:
            c.close()
        server.close()
    return rows


def summarize(kind: str, sessions: int, w: Window, server_pid: int) -> dict[str, Any]:
    streams = 2 * sessions
    wall, snap, reports = w.wall, w.snap, w.reports
    server_cpu = w.cpu[server_pid] / wall * 100
    client_cpu = sum(v for p, v in w.cpu.items() if p != server_pid) / wall * 100
    machine = w.busy[0] / max(1, w.busy[1]) * 100 * (os.cpu_count() or 1)
    other = max(0.0, machine - server_cpu - client_cpu)
    lat = snap.get("latencies_s", [])
    late = [x for r in reports for x in r["late_s"]]
    frames = sum(r["frames"] for r in reports)
    client_lag = [x for r in reports for x in r["lag_s"]]

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    p99 = percentile(lat, 99)
    row = {
        "mode": kind,
        "sessions": sessions,
        "streams": streams,
        "window_s": round(wall, 1),
        "server_cpu_pct": round(server_cpu, 1),
        "cpu_pct_per_stream": round(server_cpu / streams, 4) if streams else None,
        "client_cpu_pct": round(client_cpu, 1),
        "machine_busy_pct": round(machine, 1),  # of one core; the machine has os.cpu_count()
        "other_cpu_pct": round(other, 1),  # processes outside this bench, competing for cores
        "nudges": len(lat),
        "nudges_received": sum(r["nudges"] for r in reports),
        "nudge_p50_ms": ms(percentile(lat, 50)),
        "nudge_p99_ms": ms(p99),
        "nudge_max_ms": ms(max(lat) if lat else None),
        "server_lag_p50_ms": ms(percentile(snap["lag_s"], 50)),
        "server_lag_p99_ms": ms(percentile(snap["lag_s"], 99)),
        "server_lag_max_ms": ms(max(snap["lag_s"]) if snap["lag_s"] else None),
        "client_lag_p99_ms": ms(percentile(client_lag, 99)),
        "frames_sent": frames,
        "frames_expected": int(streams * wall / FRAME_S),
        "late_p99_ms": ms(percentile(late, 99)),
        "late_max_ms": ms(max(late) if late else None),
        "late_over_50ms_pct": round(100 * sum(1 for x in late if x > 0.05) / len(late), 3)
        if late
        else None,
        "gc_collections": len(snap["gc"]),
        "gc_gen2": sum(1 for g, _ in snap["gc"] if g == 2),
        "gc_max_ms": ms(max((d for _, d in snap["gc"]), default=None)),
        "connections": snap.get("connections"),
        "sessions_live": snap.get("sessions_live"),
        "dropped_streams": sum(r["dropped"] for r in reports),
        "errors": sum(r["errors"] for r in reports),
    }
    alive = row["dropped_streams"] == 0 and (kind != "sparring" or row["sessions_live"] == sessions)
    row["ok"] = bool(kind != "sparring" or (p99 is not None and p99 < LATENCY_BOUND_S and alive))
    return row


HEAD = (
    f"{'mode':<9}{'sess':>5}{'strm':>6}{'srvCPU%':>8}{'%/strm':>8}{'cliCPU%':>8}{'other%':>7}"
    f"{'nudges':>7}{'p50ms':>7}{'p99ms':>7}{'maxms':>7}{'lag99':>7}{'lagmax':>7}{'gcmax':>6}"
    f"{'late99':>7}{'>50ms%':>7}{'sent/exp':>12}{'clean_s':>8}  ok"
)


def _f(v: Any, width: int, digits: int = 1) -> str:
    if v is None:
        return f"{'-':>{width}}"
    if isinstance(v, float):
        return f"{v:>{width}.{digits}f}"
    return f"{v:>{width}}"


def format_row(r: dict[str, Any]) -> str:
    sent = f"{r['frames_sent']}/{r['frames_expected']}"
    ok = ("yes" if r["ok"] else "NO") if r["mode"] == "sparring" else ""
    if r.get("profiled"):
        ok += " (profiled)"
    if r.get("contended"):
        ok += " (contended)"
    return (
        f"{r['mode']:<9}{r['sessions']:>5}{r['streams']:>6}{_f(r['server_cpu_pct'], 8)}"
        f"{_f(r['cpu_pct_per_stream'], 8, 3)}{_f(r['client_cpu_pct'], 8)}{_f(r['other_cpu_pct'], 7, 0)}"
        f"{_f(r['nudges'], 7)}{_f(r['nudge_p50_ms'], 7)}{_f(r['nudge_p99_ms'], 7)}{_f(r['nudge_max_ms'], 7)}"
        f"{_f(r['server_lag_p99_ms'], 7)}{_f(r['server_lag_max_ms'], 7)}{_f(r['gc_max_ms'], 6)}"
        f"{_f(r['late_p99_ms'], 7)}{_f(r['late_over_50ms_pct'], 7, 2)}{sent:>12}{_f(r['clean_s'], 8)}  {ok}"
    )


def print_row(r: dict[str, Any]) -> None:
    print(format_row(r), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sessions",
        default="50,100,200,300,400",
        help="load steps, sessions of two parties each (ascending)",
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="measured window per Sparring step")
    ap.add_argument(
        "--baseline-seconds", type=float, default=10.0, help="measured window per baseline step"
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the bare webrtcvad server")
    ap.add_argument("--clients", type=int, default=2, help="load-generator processes")
    ap.add_argument(
        "--spread", type=float, default=3.0, help="new sessions start within this many s"
    )
    ap.add_argument(
        "--settle",
        type=float,
        default=4.0,
        help="s to wait after --spread before measuring (the bench playbook warms up 3 s)",
    )
    ap.add_argument(
        "--stop-after-fail",
        type=int,
        default=0,
        help="stop stepping Sparring after this many steps over the latency bound (0: never)",
    )
    ap.add_argument(
        "--max-other",
        type=float,
        default=40.0,
        help="CPU %% of one core that other processes may use when a window starts",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=20.0,
        help="wait up to this many s for other processes to drop under --max-other (0: don't)",
    )
    ap.add_argument(
        "--chunk",
        type=float,
        default=5.0,
        help="s per measured chunk; chunks with other processes over --max-other are set aside",
    )
    ap.add_argument(
        "--step-limit",
        type=float,
        default=2.0,
        help="give a step at most this many times --seconds to collect clean chunks",
    )
    ap.add_argument(
        "--no-setsid",
        action="store_true",
        help="keep the server and clients in this terminal's session (autogroup)",
    )
    ap.add_argument("--playbook", help="TOML playbook instead of the bench one")
    ap.add_argument(
        "--profile", help="cProfile the server during the last Sparring step into this file"
    )
    ap.add_argument("--json", help="write every row to this file")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    args.sessions = sorted(int(x) for x in args.sessions.split(",") if x.strip())

    with tempfile.TemporaryDirectory(prefix="sparring-bench-") as tmp:
        playbook_path = args.playbook
        if playbook_path is None:
            playbook_path = str(Path(tmp) / "bench.toml")
            Path(playbook_path).write_text(BENCH_PLAYBOOK, encoding="utf-8")
        print(
            f"{os.cpu_count()} CPUs; {args.clients} client process(es); steps {args.sessions} sessions; "
            f"{args.seconds:g} s per Sparring step, {args.baseline_seconds:g} s per baseline step",
            flush=True,
        )
        print(HEAD, flush=True)
        t_start = time.monotonic()
        rows = run_mode("sparring", args, playbook_path)
        base = [] if args.no_baseline else run_mode("baseline", args, playbook_path)

    print()
    print("Sparring vs bare websockets + webrtcvad, server CPU % of one core per stream:")
    by_n = {r["sessions"]: r for r in base}
    for r in rows:
        b = by_n.get(r["sessions"])
        if b and b["cpu_pct_per_stream"]:
            ratio = r["cpu_pct_per_stream"] / b["cpu_pct_per_stream"]
            print(
                f"  {r['sessions']:>4} sessions: {r['cpu_pct_per_stream']:.3f} vs "
                f"{b['cpu_pct_per_stream']:.3f}  ({r['server_cpu_pct']:.0f}% vs {b['server_cpu_pct']:.0f}% total)"
                f"  ratio {ratio:.2f}"
            )
    good = [r["sessions"] for r in rows if r["ok"]]
    best = max(good) if good else None
    for r in rows + base:
        if r["gc_gen2"]:
            print(
                f"  {r['mode']} {r['sessions']}: {r['gc_collections']} GCs, {r['gc_gen2']} full, "
                f"longest {r['gc_max_ms']} ms"
            )
    print(
        f"Largest load meeting nudge p99 < {LATENCY_BOUND_S * 1000:.0f} ms with every session live: "
        f"{best if best is not None else 'none'} sessions"
        f"{f' ({2 * best} streams)' if best else ''}; run took {time.monotonic() - t_start:.0f} s"
    )
    if args.profile:
        import pstats

        print(f"\nServer profile of the last step ({args.profile}), top functions by own time:")
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(20)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows + base}, indent=1))
    return 0 if best is not None else 1


if __name__ == "__main__":
    sys.exit(main())
