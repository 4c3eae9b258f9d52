#!/usr/bin/env python
"""Trainers over MQTT: dashboard event delay across nodes, and the CPU cost of `--mqtt` per call.

Processes, all on loopback (each measured on its own):

- a Mosquitto broker on a free port;
- node A, `sparring serve --node n1 --mqtt …`: hosts `--calls` calls (default 30);
- node A0, `sparring serve --node n0` (no `--mqtt`): hosts the same calls at the same time,
  streamed from the same schedule, for the CPU comparison;
- node B, `sparring serve --node n2 --mqtt …`: a trainer's dashboard connects there and
  watches `"*"` with `"events": "all"`, so every event of A's calls crosses the broker;
- this process: both parties of every call stream the bundled `pushy` call in real time
  in 100 ms frames (looped; each call from its own rotation, starts spread over 1 s), and
  the trainer connection reads.

Dashboard event delay: for every event of A's calls that carries an audio time (`metrics`,
`nudge`, `call`), its arrival on the trainer minus the wall time at which the audio frame
holding that audio time was sent (both parties' frame k is sent together; audio time
counts from the first frame sent after the call went live). It covers A's analysis, A's
publish, the broker, B's desk and B's socket. CPU: user+system time of A and A0 over the
same window (after `--warmup` s); the ratio A/A0 and the difference per call, in % of one
core. Speech recognition is off (`--model none`); the bench playbook of
bench_sessions.py makes nudges frequent.

    .venv/bin/python bench/bench_mqtt.py                   # 30 calls, 60 s, ~75 s
    .venv/bin/python bench/bench_mqtt.py --calls 30 --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bench.bench_sessions import BENCH_PLAYBOOK, cpu_seconds, percentile  # noqa: E402
from client.stream import Participant, read_audio  # noqa: E402
from models import codec  # noqa: E402
from models.wire import Created  # noqa: E402

FRAME_S = 0.1
TRAINER_KEY = "bench-trainer-key"
MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT_S = 30.0
TIMED = ("metrics", "nudge", "call")  # events that carry the audio time they describe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {START_TIMEOUT_S} s")
        time.sleep(0.05)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@dataclass
class Processes:
    directory: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def broker(self, nodelay: bool) -> str:
        port = free_port()
        config = self.directory / "mosquitto.conf"
        text = f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        # Mosquitto leaves Nagle's algorithm on for its clients unless told otherwise.
        config.write_text(text + ("set_tcp_nodelay true\n" if nodelay else ""))
        self.running.append(
            subprocess.Popen(
                [MOSQUITTO, "-c", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        wait_port(port, "mosquitto")
        return f"mqtt://127.0.0.1:{port}"

    def node(self, node: str, playbook: Path, mqtt_url: str | None) -> tuple[int, int]:
        """Starts `sparring serve`; returns (port, pid)."""
        port = free_port()
        command = [sys.executable, "-m", "client.cli", "serve", "--port", str(port)]
        command += ["--model", "none", "--node", node, "--trainer-key", TRAINER_KEY]
        command += ["--playbook", str(playbook)]
        # The load comes from one address (loopback): lift the per-address limits.
        command += ["--create-burst", "100000", "--max-connections-per-address", "100000"]
        if mqtt_url:
            command += ["--mqtt", mqtt_url]
        log = (self.directory / f"{node}.log").open("wb")
        # Its own session: with autogroup scheduling a node should not share one CPU share
        # with the load generator (see bench_sessions.py).
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        self.running.append(process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"node {node} did not start; see {self.directory}/{node}.log")
            time.sleep(0.1)
        return port, process.pid

    def stop(self) -> None:
        """Nodes first (they say goodbye on the broker), the broker last."""
        for process in reversed(self.running):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Call:
    """One call streamed into a node: its parties and when each frame was sent."""

    session: str
    rep: Participant
    customer: Participant
    sent_at: list[float] = field(default_factory=list)  # frame index -> monotonic send time


async def create(ws_url: str, title: str) -> Created:
    async with connect(ws_url, compression=None) as ws:
        await ws.send(json.dumps({"type": "create", "title": title, "key": TRAINER_KEY}))
        message = codec.decode_server(await ws.recv())
    if not isinstance(message, Created):
        raise SystemExit(f"create failed: {message}")
    return message


async def open_call(ws_url: str, title: str, rep_format, customer_format) -> Call:  # type: ignore[no-untyped-def]
    created = await create(ws_url, title)
    rep = Participant(ws_url, created.tokens.rep, "Anna", rep_format)
    customer = Participant(ws_url, created.tokens.customer, "Bob", customer_format)
    await rep.__aenter__()
    await customer.__aenter__()
    await rep.consent()
    await customer.consent()
    await asyncio.wait_for(rep.live.wait(), 10)
    await asyncio.wait_for(customer.live.wait(), 10)
    rep.messages.clear()  # the load does not keep what the parties receive
    customer.messages.clear()
    return Call(created.session, rep, customer)


async def stream(
    calls: list[Call], rep: list[bytes], customer: list[bytes], offset: int, start_at: float
) -> None:
    """Streams one call's two tracks into every call of `calls` (one per node) in lockstep."""
    n = len(rep)
    k = 0
    while True:
        delay_s = start_at + k * FRAME_S - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        i = (offset + k) % n
        for call in calls:
            await call.rep.send_audio(rep[i])
            await call.customer.send_audio(customer[i])
            call.sent_at.append(time.monotonic())
            call.rep.messages.clear()
            call.customer.messages.clear()
        k += 1


@dataclass
class Arrival:
    kind: str
    session: str
    at_s: float
    arrived: float


async def trainer(ws_url: str, arrivals: list[Arrival], ready: asyncio.Event) -> None:
    async with connect(ws_url, compression=None, max_size=1 << 24) as ws:
        await ws.send(json.dumps({"type": "hello", "trainer_key": TRAINER_KEY, "name": "Tom"}))
        await ws.send(json.dumps({"type": "watch", "session": "*", "events": "all"}))
        ready.set()
        await read_trainer(ws, arrivals)


async def read_trainer(ws: ClientConnection, arrivals: list[Arrival]) -> None:
    async for data in ws:
        arrived = time.monotonic()
        message = codec.decode_server(data)
        kind = str(message.__struct_config__.tag)
        at_s = getattr(message, "at", None)
        session = getattr(message, "session", "")
        if kind in TIMED and at_s and session:
            arrivals.append(Arrival(kind, session, float(at_s), arrived))


def delays_ms(
    arrivals: list[Arrival],
    calls: dict[str, Call],
    since: float,
    worst: list[tuple[float, str, float]],
) -> dict[str, list[float]]:
    """Delays by event type; `worst` gets the 5 longest (s into the window, type, ms)."""
    out: dict[str, list[float]] = {kind: [] for kind in TIMED}
    for a in arrivals:
        call = calls.get(a.session)
        if call is None or a.arrived < since:
            continue
        # The frame holding audio time `at_s`: frame k carries [k * 0.1, (k + 1) * 0.1).
        k = max(0, math.ceil(a.at_s / FRAME_S - 1e-6) - 1)
        if k < len(call.sent_at):
            delay_ms = (a.arrived - call.sent_at[k]) * 1000
            out[a.kind].append(delay_ms)
            worst.append((round(a.arrived - since, 1), a.kind, round(delay_ms, 1)))
    worst.sort(key=lambda w: -w[2])
    del worst[5:]
    return out


def frames_of(name: str) -> tuple[list[bytes], list[bytes], object, object]:
    rep_audio = read_audio(ROOT / "client" / "calls" / f"{name}.rep.flac")
    customer_audio = read_audio(ROOT / "client" / "calls" / f"{name}.customer.flac")
    rep, customer = list(rep_audio.frames(FRAME_S)), list(customer_audio.frames(FRAME_S))
    full = len(rep[0])
    n = max(
        i + 1
        for i in range(min(len(rep), len(customer)))
        if len(rep[i]) == full == len(customer[i])
    )
    return rep[:n], customer[:n], rep_audio.format(), customer_audio.format()


# Who watches where: the figure (over MQTT), and two references on the hosting nodes.
TRAINERS = {
    "B via MQTT": "the trainer on node B watching A's calls (the figure)",
    "A, same node": "a trainer on node A itself: no broker in the way",
    "A0, no --mqtt": "a trainer on node A0 (and the same watcher load as A for the CPU)",
}


async def run(args: argparse.Namespace) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix="bench_mqtt."))
    playbook = directory / "bench.toml"
    playbook.write_text(BENCH_PLAYBOOK)
    procs = Processes(directory)
    try:
        mqtt_url = procs.broker(args.broker_nodelay)
        port_a, pid_a = procs.node("n1", playbook, mqtt_url)
        port_a0, pid_a0 = procs.node("n0", playbook, None)
        port_b, pid_b = procs.node("n2", playbook, mqtt_url)
        url_a, url_a0, url_b = (f"ws://127.0.0.1:{p}/v1/live" for p in (port_a, port_a0, port_b))

        arrivals: dict[str, list[Arrival]] = {name: [] for name in TRAINERS}
        watching = []
        for name, url in zip(TRAINERS, (url_b, url_a, url_a0), strict=True):
            ready = asyncio.Event()
            watching.append(asyncio.create_task(trainer(url, arrivals[name], ready)))
            await asyncio.wait_for(ready.wait(), 10)

        rep, customer, rep_format, customer_format = frames_of(args.call)
        rng = random.Random(1)
        pairs: list[list[Call]] = []
        for i in range(args.calls):
            title = f"Bench call {i + 1}"
            pairs.append(
                [
                    await open_call(url, title, rep_format, customer_format)
                    for url in (url_a, url_a0)
                ]
            )
        start = time.monotonic() + 0.5
        streams = [
            asyncio.create_task(
                stream(pair, rep, customer, rng.randrange(len(rep)), start + rng.random())
            )
            for pair in pairs
        ]
        await asyncio.sleep(1.5 + args.warmup)
        since = time.monotonic()
        cpu0 = {pid: cpu_seconds(pid) for pid in (pid_a, pid_a0, pid_b)}
        own0 = time.process_time()
        await asyncio.sleep(args.seconds)
        cpu1 = {pid: cpu_seconds(pid) for pid in (pid_a, pid_a0, pid_b)}
        own_pct = (time.process_time() - own0) / args.seconds * 100
        window_s = time.monotonic() - since
        for task in [*streams, *watching]:
            task.cancel()
        await asyncio.gather(*streams, *watching, return_exceptions=True)
        for pair in pairs:
            for call in pair:
                for party in (call.rep, call.customer):
                    with contextlib.suppress(Exception):
                        await party.__aexit__(None, None, None)

        on_a = {pair[0].session: pair[0] for pair in pairs}
        on_a0 = {pair[1].session: pair[1] for pair in pairs}
        worst: list[tuple[float, str, float]] = []
        by_trainer: dict[str, dict[str, list[float]]] = {}
        for name, calls in zip(TRAINERS, (on_a, on_a, on_a0), strict=True):
            delays = delays_ms(arrivals[name], calls, since, worst if name == "B via MQTT" else [])
            by_trainer[name] = {**delays, "all": [d for kind in TIMED for d in delays[kind]]}
        cpu = {pid: (cpu1[pid] - cpu0[pid]) / window_s * 100 for pid in cpu0}
        return {
            "calls": args.calls,
            "window_s": round(window_s, 1),
            "events_per_call_s": {
                kind: round(len(values) / args.calls / window_s, 2)
                for kind, values in by_trainer["B via MQTT"].items()
            },
            "delay_ms": {
                name: {kind: summary(values) for kind, values in delays.items()}
                for name, delays in by_trainer.items()
            },
            "cpu_pct": {
                "A_mqtt": cpu[pid_a],
                "A0_plain": cpu[pid_a0],
                "B_trainer": cpu[pid_b],
                "load_and_trainers": own_pct,
            },
            "cpu_ratio": cpu[pid_a] / cpu[pid_a0] if cpu[pid_a0] else None,
            "mqtt_pct_per_call": (cpu[pid_a] - cpu[pid_a0]) / args.calls,
            "worst": worst,
            "loadavg": os.getloadavg(),
        }
    finally:
        procs.stop()


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0, help="measured window")
    ap.add_argument(
        "--warmup",
        type=float,
        default=15.0,
        help="seconds streamed before the window (a node loads Silero VAD on first need)",
    )
    ap.add_argument("--call", default="pushy", help="bundled call streamed by every call")
    ap.add_argument(
        "--broker-nodelay",
        action="store_true",
        help="mosquitto with set_tcp_nodelay true (the Debian default leaves Nagle on)",
    )
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    result = asyncio.run(run(args))
    rates: dict[str, float] = result["events_per_call_s"]  # type: ignore[assignment]
    print(
        f"{args.calls} calls streamed in real time into A (--mqtt) and A0; {result['window_s']} s"
    )
    print("trainer        event     n/call/s      n   p50ms   p99ms   maxms")
    for name, delays in result["delay_ms"].items():  # type: ignore[attr-defined]
        for kind, s in delays.items():
            print(
                f"{name:<14} {kind:<8} {rates[kind]:>9.2f} {s['n']:>6} "
                f"{fmt(s['p50'])} {fmt(s['p99'])} {fmt(s['max'])}"
            )
    cpu = result["cpu_pct"]
    print(
        "CPU % of one core: A (--mqtt) {A_mqtt:.1f}, A0 (no --mqtt) {A0_plain:.1f}, "
        "B (trainer's node) {B_trainer:.1f}, "
        "this process (load, trainers) {load_and_trainers:.1f}".format(**cpu)  # type: ignore[arg-type]
    )
    print(
        f"--mqtt: x{result['cpu_ratio']:.2f} the hosting node's CPU, "
        f"+{result['mqtt_pct_per_call']:.3f} % of one core per call"
    )
    print(f"slowest over MQTT (s into the window, event, ms): {result['worst']}")
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*result["loadavg"]))  # type: ignore[str-format]
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


def fmt(value: float | None) -> str:
    return f"{value:>7.1f}" if value is not None else "      -"


if __name__ == "__main__":
    main()
