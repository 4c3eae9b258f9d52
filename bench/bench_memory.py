"""Memory per call (issue 12, item 2): a real `sparring serve`, calls at rest, then speaking.

For each `--model` (tiny.en and none by default) this starts `sparring serve` as a user
would (its own process, loopback, a temporary data directory) and reads its memory from
/proc (RSS from status; anonymous, USS and PSS from smaps_rollup), each the median of
`--readings` readings one second apart:

1. at start, no call;
2. at rest: `--steps` calls (10, then 40) of two parties (`client.stream.Participant`),
   both consented and live, each sending digital silence in real time (100 ms frames, as
   a microphone with nobody talking);
3. speaking: of those calls, the first 10, then all 40, stream the bundled English calls
   (client/calls, both parties, looped) in real time for `--speech-s` seconds each while
   the others stay silent;
4. after the end: the reps end every call, everyone disconnects, `--settle-s` seconds pass.

Memory per call at rest is the least-squares slope of memory over the number of calls
(0, 10, 40); in speech, the slope over the number of calls speaking (0, 10, 40) with all
40 connected, i.e. what speaking adds to a call at rest. Also printed: how fast memory
grew while all calls spoke (MB a minute, least squares over the readings), the queued
final recognitions (the pool never drops a final), and whether memory came back after
the calls ended (ended calls stay readable in memory: `hub.KEEP_ENDED_SESSIONS`).

    .venv/bin/python -m bench.bench_memory                      # tiny.en and none, ~4.5 min
    .venv/bin/python -m bench.bench_memory --models none --steps 5,20 --speech-s 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.audio_io import ENGLISH_CALLS, call_frames  # noqa: E402
from bench.live_calls import http_get  # noqa: E402
from bench.proc_memory import Memory, median_memory, memory_of, slope  # noqa: E402
from client.stream import FRAME_S, Participant, create_session  # noqa: E402
from models.wire import AudioFormat, Nudge, Transcript  # noqa: E402

SILENCE = bytes(round(16000 * FRAME_S) * 2)  # 100 ms of digital silence, PCM16
START_TIMEOUT_S = 180.0  # loading and warming a model on a busy 2-core machine
LISTENING = re.compile(r"listening on (http://\S+)")


# --- the server -------------------------------------------------------------------------------


@dataclass
class Serve:
    """`sparring serve` in its own process."""

    proc: subprocess.Popen[str]
    http_url: str
    start_lines: list[str]

    @property
    def ws_url(self) -> str:
        return self.http_url.replace("http", "ws", 1) + "/v1/live"

    @property
    def port(self) -> int:
        return int(self.http_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_serve(model: str, data_dir: str, log_path: Path, args: argparse.Namespace) -> Serve:
    """Starts `sparring serve` with limits that let one address open every call, and
    waits for its start lines."""
    command = [
        sys.executable, "-m", "client.cli", "serve", "--port", "0", "--model", model,
        "--data-dir", data_dir, "--create-burst", "100000", "--creates-per-min", "100000",
        "--max-connections-per-address", "100000", "--max-sessions", "100000",
        "--device", args.device, "--compute-type", args.compute_type,
    ]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), **dict(x.split("=", 1) for x in args.serve_env)},
        )  # fmt: skip
    assert proc.stdout is not None
    stdout = proc.stdout
    printed: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [printed.put(x.rstrip()) for x in stdout], daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    # The start lines end with "recognition" (and "speech device" when a model is loaded).
    while not any("recognition:" in x for x in lines):
        try:
            lines.append(printed.get(timeout=1.0))
        except queue.Empty:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                tail = log_path.read_text()[-2000:]
                raise RuntimeError(
                    f"sparring serve did not start (exit {proc.poll()}):\n{tail}"
                ) from None
    with contextlib.suppress(queue.Empty):
        while True:
            lines.append(printed.get(timeout=0.5))
    match = next(m for m in map(LISTENING.search, lines) if m)
    return Serve(proc, match.group(1), lines)


# --- the calls --------------------------------------------------------------------------------


@dataclass
class Call:
    """Two parties of one call; each streams silence until frame `speak_from`, then its
    track (looped), on one schedule."""

    rep: Participant
    customer: Participant
    tracks: tuple[list[bytes], list[bytes]]
    speak_from: int | None = None  # None: silent
    stopped: bool = False
    sent: list[int] = field(default_factory=lambda: [0, 0])  # frames each party has sent
    streams: list[asyncio.Task[None]] = field(default_factory=list)

    def frames(self, party: int) -> Iterator[bytes]:
        """This party's frames, one per 100 ms: silence, then the call's track, looped."""
        track = self.tracks[party]
        while not self.stopped:
            n = self.sent[party] = self.sent[party] + 1
            if self.speak_from is not None and n >= self.speak_from:
                yield track[(n - self.speak_from) % len(track)]
            else:
                yield SILENCE

    def speak(self) -> None:
        """Both parties start their tracks at the same frame, two frames from now."""
        if self.speak_from is None:
            self.speak_from = max(self.sent) + 2


async def open_call(ws_url: str, i: int, tracks: tuple[list[bytes], list[bytes]]) -> Call:
    """Creates a call, joins both parties, consents, waits until it is live, and starts
    both streams (silence) on one schedule."""
    created = await create_session(ws_url, title=f"memory {i}")
    audio = AudioFormat(rate=16000, channels=1)
    rep = await Participant(ws_url, created.tokens.rep, f"rep {i}", audio).__aenter__()
    customer = await Participant(
        ws_url, created.tokens.customer, f"customer {i}", audio
    ).__aenter__()
    await rep.consent()
    await customer.consent()
    await asyncio.wait_for(rep.live.wait(), 30)
    call = Call(rep, customer, tracks)
    start = time.monotonic()
    call.streams = [
        asyncio.create_task(rep.stream(call.frames(0), start_at=start), name=f"call[{i}].rep"),
        asyncio.create_task(
            customer.stream(call.frames(1), start_at=start), name=f"call[{i}].customer"
        ),
    ]
    return call


async def end_call(call: Call) -> None:
    """Both parties stop streaming, the rep ends the call, both disconnect."""
    call.stopped = True
    for task in call.streams:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await call.rep.end()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(call.rep.ended.wait(), 30)
    await call.rep.__aexit__(None, None, None)
    await call.customer.__aexit__(None, None, None)


# --- readings ---------------------------------------------------------------------------------


@dataclass
class Reading:
    """A phase's memory (median of a few readings) and the recognition backlog then."""

    phase: str
    calls: int
    speaking: int
    memory: Memory
    queued_finals: float
    queued_partials: float
    at_s: float


async def metric_values(port: int) -> dict[str, float]:
    """The unlabelled or kind-labelled gauges of GET /metrics that this bench reads."""
    status, body = await http_get(port, "/metrics")
    values: dict[str, float] = {}
    if status != 200:
        return values
    for line in body.decode().splitlines():
        if line.startswith(
            ("sparring_asr_queued_jobs{", "sparring_sessions ", "sparring_audio_bytes_total ")
        ):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


async def read_phase(
    serve: Serve, phase: str, calls: int, speaking: int, n: int, t0: float
) -> Reading:
    readings = []
    for i in range(n):
        if i:
            await asyncio.sleep(1.0)
        readings.append(memory_of(serve.proc.pid))
    metrics = await metric_values(serve.port)
    return Reading(
        phase,
        calls,
        speaking,
        median_memory(readings),
        metrics.get('sparring_asr_queued_jobs{kind="final"}', 0.0),
        metrics.get('sparring_asr_queued_jobs{kind="partial"}', 0.0),
        time.monotonic() - t0,
    )


async def sample_while(serve: Serve, seconds: float, t0: float) -> list[tuple[float, float]]:
    """RSS every second for `seconds`: (seconds since t0, MB)."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append((time.monotonic() - t0, memory_of(serve.proc.pid).rss_mb))
        await asyncio.sleep(1.0)
    return samples


# --- one model --------------------------------------------------------------------------------


@dataclass
class ModelRun:
    model: str
    device_line: str
    readings: list[Reading]
    speech_samples: list[tuple[float, float]]  # RSS while every call spoke
    wall_s: float
    live_calls: int  # calls still live when the last speech phase ended
    finals: int  # final transcripts the reps received
    nudges: int
    audio_s: float  # audio the server received (sparring_audio_bytes_total)


async def measure(
    serve: Serve,
    model: str,
    tracks: dict[str, tuple[list[bytes], list[bytes]]],
    args: argparse.Namespace,
) -> ModelRun:
    t0 = time.monotonic()
    names = cycle(ENGLISH_CALLS)
    readings = [await read_phase(serve, "start", 0, 0, args.readings, t0)]
    calls: list[Call] = []
    for n in args.steps:
        while len(calls) < n:
            calls.append(await open_call(serve.ws_url, len(calls), tracks[next(names)]))
        await asyncio.sleep(args.settle_s)
        readings.append(await read_phase(serve, "rest", n, 0, args.readings, t0))
    speech_samples: list[tuple[float, float]] = []
    for s in args.steps:
        for call in calls[:s]:
            call.speak()
        run_s = max(0.0, args.speech_s - args.readings)
        samples = await sample_while(serve, run_s, t0)
        if s == args.steps[-1]:
            speech_samples = samples
        readings.append(await read_phase(serve, "speech", len(calls), s, args.readings, t0))
    live_calls = sum(call.rep.live.is_set() and call.customer.live.is_set() for call in calls)
    audio_s = (await metric_values(serve.port)).get("sparring_audio_bytes_total", 0.0) / 32000
    await asyncio.gather(*(end_call(call) for call in calls))
    await asyncio.sleep(args.settle_s)
    readings.append(await read_phase(serve, "ended", 0, 0, args.readings, t0))
    device_line = next(
        (x.split(":", 1)[1].strip() for x in serve.start_lines if "speech device:" in x), "-"
    )
    finals = sum(1 for call in calls for m in call.rep.of_type(Transcript) if m.final)
    nudges = sum(len(call.rep.of_type(Nudge)) for call in calls)
    return ModelRun(
        model, device_line, readings, speech_samples, time.monotonic() - t0,
        live_calls, finals, nudges, audio_s,
    )  # fmt: skip


# --- the report -------------------------------------------------------------------------------


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def per_call(readings: list[Reading], x: str, attr: str) -> float | None:
    """Least-squares MB per call of `attr` (a `Memory` field) over `x` (calls or speaking)."""
    points = [(float(getattr(r, x)), getattr(r.memory, attr)) for r in readings]
    if any(y is None for _, y in points):
        return None
    return slope([p[0] for p in points], [p[1] for p in points])


def report(run: ModelRun, args: argparse.Namespace) -> dict[str, object]:
    r = run.readings
    start = r[0]
    rest = [x for x in r if x.phase in ("start", "rest")]
    top_rest = rest[-1]
    speech = [top_rest, *[x for x in r if x.phase == "speech"]]
    ended = r[-1]
    print(f"\n== model {run.model} (speech device: {run.device_line}); {run.wall_s:.0f} s ==")
    print(
        "| phase | calls | speaking | RSS MB | anon MB | USS MB | PSS MB | RSS MB per added call"
        " | queued finals / partials | at s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    previous: Reading | None = None
    for x in r:
        m = x.memory
        step = "-"
        if previous is not None and x.phase in ("rest", "speech"):
            added = (
                (x.calls - previous.calls)
                if x.phase == "rest"
                else (x.speaking - previous.speaking)
            )
            if added > 0:
                step = f"{(m.rss_mb - previous.memory.rss_mb) / added:.2f}"
        print(
            f"| {x.phase} | {x.calls} | {x.speaking} | {m.rss_mb:.0f} | {_mb(m.anon_mb)} |"
            f" {_mb(m.uss_mb)} | {_mb(m.pss_mb)} | {step} | {x.queued_finals:.0f} / {x.queued_partials:.0f}"
            f" | {x.at_s:.0f} |"
        )
        previous = x
    print(
        f"{run.live_calls} of {top_rest.calls} calls live to the end; the server took"
        f" {run.audio_s / 60:.1f} min of audio; reps received {run.finals} final transcripts"
        f" and {run.nudges} nudges"
    )
    figures: dict[str, object] = {
        "model": run.model,
        "device": run.device_line,
        "live_calls": run.live_calls,
        "finals": run.finals,
    }
    for attr, label in (("rss_mb", "RSS"), ("anon_mb", "anonymous")):
        at_rest = per_call(rest, "calls", attr)
        speaking = per_call(speech, "speaking", attr)
        if at_rest is None or speaking is None:
            continue
        figures[f"{label}_per_call_rest_mb"] = round(at_rest, 3)
        figures[f"{label}_per_call_speaking_extra_mb"] = round(speaking, 3)
        print(
            f"{label} per call: at rest {at_rest:.2f} MB; speaking adds {speaking:.2f} MB"
            f" ({at_rest + speaking:.2f} MB per speaking call; least squares over"
            f" {', '.join(str(x.calls) for x in rest)} calls and"
            f" {', '.join(str(x.speaking) for x in speech)} speaking)"
        )
    if len(run.speech_samples) >= 2:
        xs = [t / 60 for t, _ in run.speech_samples]
        ys = [mb for _, mb in run.speech_samples]
        growth = slope(xs, ys)
        figures["rss_growth_all_speaking_mb_per_min"] = round(growth, 2)
        print(
            f"while all {top_rest.calls} calls spoke: RSS {min(ys):.0f}-{max(ys):.0f} MB,"
            f" growing {growth:.1f} MB/min ({growth / max(1, top_rest.calls):.3f} MB per"
            f" call-minute), samples every 1 s"
        )
    peak = max(x.memory.rss_mb for x in r)
    back = ended.memory.rss_mb - start.memory.rss_mb
    figures["rss_start_mb"] = round(start.memory.rss_mb)
    figures["rss_peak_mb"] = round(peak)
    figures["rss_after_end_mb"] = round(ended.memory.rss_mb)
    print(
        f"after the calls ended ({args.settle_s:g} s): RSS {ended.memory.rss_mb:.0f} MB, "
        f"{back:+.0f} MB over the start ({back / max(1, top_rest.calls):.2f} MB per ended call),"
        f" {ended.memory.rss_mb - peak:+.0f} MB from the peak {peak:.0f} MB"
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny.en,none", help="comma-separated --model values")
    parser.add_argument("--steps", default="10,40", help="calls at each step, ascending")
    parser.add_argument("--settle-s", type=float, default=8.0, help="wait before each rest reading")
    parser.add_argument("--speech-s", type=float, default=30.0, help="seconds of speech per step")
    parser.add_argument("--readings", type=int, default=5, help="readings (1 s apart) per phase")
    parser.add_argument("--device", default="auto", help="sparring serve --device")
    parser.add_argument("--compute-type", default="auto", help="sparring serve --compute-type")
    parser.add_argument(
        "--serve-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment of the server process, e.g. MALLOC_ARENA_MAX=2 (repeatable)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args()
    args.steps = sorted({int(x) for x in args.steps.split(",")})
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.serve_env:
        print(f"server environment: {' '.join(args.serve_env)}")
    # Loaded (and its libraries mapped) before any server starts: a library this process
    # maps later would move the server's pages from private to shared, and its USS and PSS
    # would fall for no reason of its own.
    tracks = call_frames(ENGLISH_CALLS)
    results = []
    for model in args.models.split(","):
        with tempfile.TemporaryDirectory() as data_dir:
            log_path = Path(data_dir) / "serve.log"
            serve = start_serve(model, data_dir, log_path, args)
            try:
                run = asyncio.run(measure(serve, model, tracks, args))
            finally:
                serve.stop()
        results.append(report(run, args))
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
