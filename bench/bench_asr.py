"""Benchmark live recognition: Sparring's pipeline against a naive baseline, same run.

Pipeline: tiny.en int8, encoder fed only the audio there is ("exact"), AsrPool (fair,
coalescing, finals first, 2 workers x 1 thread). Baseline: 30 s padded encoder, every
partial re-decodes the whole utterance each second, one FIFO queue, one job at a time.

Phases:
  A. accuracy (simulated clock): WER of streamed finals (VAD utterances) vs offline
     faster-whisper transcribe() of the whole track, and encoder cost, exact vs pad30;
  B. latency (real time, one two-party session): partial and final p50/p95;
  C. concurrency (real time): N two-party sessions; held = partial p95 <= 1.5 s, final
     p95 <= 1.5 s and the feeder keeps real time.

Usage:
  .venv/bin/python bench/bench_asr.py                               # client/calls/*.json
  .venv/bin/python bench/bench_asr.py --clip ../shared/audio/jfk.flac \\
      --clip-text "And so my fellow Americans, ask not what your country can do for you, \\
      ask what you can do for your country."
  .venv/bin/python bench/bench_asr.py --quick                       # shorter phases B and C
"""

# Report lines are long f-strings, and the bench polls queue depth on purpose.
# ruff: noqa: E501, ASYNC110

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audio_io import load_audio  # noqa: E402

from server.asr.engine import Recognizer  # noqa: E402
from server.asr.jobs import SAMPLE_RATE_HZ, AsrJob, Recognition  # noqa: E402
from server.asr.pool import AsrPool  # noqa: E402
from server.core.commit import SegmentCommitter  # noqa: E402

STEP_S = 0.1  # audio arrives in 100 ms chunks
FRAME_MS = 30  # webrtcvad frame
VAD_MODE = 2
VAD_END_S = 0.5  # utterance ends after 500 ms without speech
VAD_START_FRAMES = 3  # 90 ms of speech opens an utterance
PRE_ROLL_S = 0.2
MAX_UTTERANCE_S = 25.0  # cut long monologues so that no decode exceeds Whisper's window
MIN_PARTIAL_S = 1.0
HELD_PARTIAL_P95_S = 1.5
HELD_FINAL_P95_S = 1.5
HELD_FEED_LAG_S = 0.5


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9à-ÿ' ]", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>"))


@dataclass
class Track:
    """One party's audio with its reference text."""

    name: str
    speaker: str
    audio: np.ndarray
    reference: str
    language: str = "en"
    speech_flags: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def vad_flags(audio: np.ndarray) -> np.ndarray:
    """webrtcvad decision per 30 ms frame (pure per-frame call, as in the core)."""
    import webrtcvad

    vad = webrtcvad.Vad(VAD_MODE)
    n = SAMPLE_RATE_HZ * FRAME_MS // 1000
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    return np.array(
        [
            vad.is_speech(pcm[i : i + n].tobytes(), SAMPLE_RATE_HZ)
            for i in range(0, len(pcm) - n + 1, n)
        ]
    )


def load_tracks(
    calls_dir: Path, names: list[str] | None, clips: list[tuple[Path, str]]
) -> list[Track]:
    tracks = []
    for meta_path in sorted(calls_dir.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if names and meta_path.stem not in names:
            continue
        if not names and meta.get("language", "en") != "en":
            continue  # tiny.en is English-only
        for speaker in ("rep", "customer"):
            audio_path = calls_dir / f"{meta_path.stem}.{speaker}.flac"
            if not audio_path.exists():
                continue
            text = " ".join(u["text"] for u in meta["utterances"] if u["speaker"] == speaker)
            tracks.append(
                Track(
                    meta_path.stem,
                    speaker,
                    load_audio(audio_path),
                    text,
                    meta.get("language", "en"),
                )
            )
    for path, text in clips or []:
        tracks.append(Track(path.stem, "rep", load_audio(path), text))
    for track in tracks:
        track.speech_flags = vad_flags(track.audio)
    return tracks


class Segmenter:
    """Streaming utterance detection over precomputed VAD frames of one party."""

    def __init__(self, flags: np.ndarray) -> None:
        self.flags = flags
        self.frame_index = 0
        self.start_sample: int | None = None
        self.last_speech_sample = 0
        self.run = 0
        self.segment = 0

    def advance(self, upto_sample: int) -> list[tuple[str, int, int]]:
        """Consume frames up to ``upto_sample``; returns ("start"|"end", start, end) events."""
        events = []
        n = SAMPLE_RATE_HZ * FRAME_MS // 1000
        while (self.frame_index + 1) * n <= upto_sample and self.frame_index < len(self.flags):
            speech = bool(self.flags[self.frame_index])
            frame_end = (self.frame_index + 1) * n
            self.frame_index += 1
            if speech:
                self.run += 1
                self.last_speech_sample = frame_end
                if self.start_sample is None and self.run >= VAD_START_FRAMES:
                    self.start_sample = max(
                        0, frame_end - self.run * n - int(PRE_ROLL_S * SAMPLE_RATE_HZ)
                    )
                    events.append(("start", self.start_sample, frame_end))
            else:
                self.run = 0
            if self.start_sample is not None:
                silent_s = (frame_end - self.last_speech_sample) / SAMPLE_RATE_HZ
                long_s = (frame_end - self.start_sample) / SAMPLE_RATE_HZ
                if silent_s >= VAD_END_S or long_s >= MAX_UTTERANCE_S:
                    end = min(frame_end, self.last_speech_sample + int(PRE_ROLL_S * SAMPLE_RATE_HZ))
                    events.append(("end", self.start_sample, end))
                    self.start_sample = None
                    self.segment += 1
        return events


class NaiveQueue:
    """Baseline scheduler: one FIFO queue, one job at a time, nothing coalesced or dropped."""

    def __init__(self, recognizer: Recognizer, on_result: Callable[[AsrJob, Recognition], None]):
        self.recognizer = recognizer
        self.on_result = on_result
        self.queue: asyncio.Queue[AsrJob] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.task: asyncio.Task[None] | None = None
        self.busy = False

    async def __aenter__(self) -> NaiveQueue:
        self.task = asyncio.create_task(self._work(), name="naive.worker")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def submit(self, job: AsrJob) -> None:
        self.queue.put_nowait(job)

    def cancel_session(self, session_id: str) -> int:
        return 0

    def partial_interval_s(self) -> float | None:
        return 1.0

    def queue_depth(self) -> int:
        return self.queue.qsize() + int(self.busy)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await self.queue.get()
            self.busy = True
            result = await loop.run_in_executor(
                self.executor,
                lambda j=job: self.recognizer.recognize(
                    j.audio, language=j.language, final=j.final
                ),
            )
            self.busy = False
            self.on_result(job, result)


@dataclass
class RunResult:
    partial_latency_s: list[float] = field(default_factory=list)
    final_latency_s: list[float] = field(default_factory=list)
    final_after_speech_s: list[float] = field(default_factory=list)
    finals: dict[tuple[str, str], dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    partials_shown: int = 0
    final_changes: int = 0
    speech_end_wall: dict[tuple[str, str], dict[int, float]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    feed_lag_max_s: float = 0.0
    compute_s: float = 0.0
    final_compute_s: float = 0.0
    wall_s: float = 0.0

    def pct(self, values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else float("nan")


async def stream(
    scheduler: AsrPool | NaiveQueue,
    sessions: list[tuple[str, list[Track], int]],
    result: RunResult,
    *,
    duration_s: float | None,
    real_time: bool,
    use_prompt: bool = False,
) -> None:
    """Feed every party of every session in 100 ms steps and submit jobs like the core would.

    Args:
        sessions: (session id, party tracks, start offset in samples) per session.
    """
    step = int(STEP_S * SAMPLE_RATE_HZ)
    parties = []
    for session_id, tracks, offset in sessions:
        for track in tracks:
            audio = np.roll(track.audio, -offset) if offset else track.audio
            flags = (
                np.roll(track.speech_flags, -(offset // (SAMPLE_RATE_HZ * FRAME_MS // 1000)))
                if offset
                else track.speech_flags
            )
            parties.append(
                {
                    "session": session_id,
                    "speaker": track.speaker,
                    "audio": audio,
                    "segmenter": Segmenter(flags),
                    "last_partial_s": 0.0,
                    "language": track.language,
                    "speech_end_wall": result.speech_end_wall[(session_id, track.speaker)],
                }
            )
    total = min(len(p["audio"]) for p in parties)
    if duration_s is not None:
        total = min(total, int(duration_s * SAMPLE_RATE_HZ))
    loop = asyncio.get_running_loop()
    started = loop.time()
    for position in range(step, total + step, step):
        position = min(position, total)
        if real_time:
            due = started + position / SAMPLE_RATE_HZ
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            result.feed_lag_max_s = max(result.feed_lag_max_s, loop.time() - due)
        else:
            await asyncio.sleep(0)
        now = time.monotonic()
        for party in parties:
            segmenter: Segmenter = party["segmenter"]
            for kind, start, end in segmenter.advance(position):
                if kind == "end":
                    job = AsrJob(
                        party["session"],
                        party["speaker"],
                        segmenter.segment - 1,
                        True,
                        party["audio"][start:end].copy(),
                        start / SAMPLE_RATE_HZ,
                        party["language"],
                        now,
                        prompt=_prompt(result, party) if use_prompt else None,
                    )
                    # speech ended VAD_END_S before the VAD could know it
                    party["speech_end_wall"][job.segment] = now - VAD_END_S
                    scheduler.submit(job)
            start = segmenter.start_sample
            interval = scheduler.partial_interval_s()
            if start is None or interval is None:
                continue
            length_s = (position - start) / SAMPLE_RATE_HZ
            if length_s >= MIN_PARTIAL_S and now - party["last_partial_s"] >= interval - 1e-6:
                party["last_partial_s"] = now
                scheduler.submit(
                    AsrJob(
                        party["session"],
                        party["speaker"],
                        segmenter.segment,
                        False,
                        party["audio"][start:position].copy(),
                        start / SAMPLE_RATE_HZ,
                        party["language"],
                        now,
                        prompt=_prompt(result, party) if use_prompt else None,
                    )
                )
        if not real_time and scheduler.queue_depth() > 4:
            while scheduler.queue_depth() > 0:  # simulated clock: let the model catch up
                await asyncio.sleep(0.01)
    # flush utterances still open at the end
    now = time.monotonic()
    for party in parties:
        segmenter = party["segmenter"]
        if segmenter.start_sample is not None:
            job = AsrJob(
                party["session"],
                party["speaker"],
                segmenter.segment,
                True,
                party["audio"][segmenter.start_sample : total].copy(),
                segmenter.start_sample / SAMPLE_RATE_HZ,
                party["language"],
                now,
            )
            party["speech_end_wall"][job.segment] = now
            scheduler.submit(job)


def _prompt(result: RunResult, party: dict) -> str | None:
    """The party's latest final text, to condition the decoder (as the session does)."""
    finals = result.finals.get((party["session"], party["speaker"]))
    if not finals:
        return None
    return finals[max(finals)] or None


async def run_streaming(
    scheduler_factory: Callable[[Callable[[AsrJob, Recognition], None]], AsrPool | NaiveQueue],
    sessions: list[tuple[str, list[Track], int]],
    *,
    duration_s: float | None,
    real_time: bool,
    use_prompt: bool = False,
) -> RunResult:
    result = RunResult()
    committers: dict[tuple[str, str, int], SegmentCommitter] = {}

    def on_result(job: AsrJob, recognition: Recognition) -> None:
        done = time.monotonic()
        result.compute_s += recognition.compute_s
        if job.final:
            result.final_compute_s += recognition.compute_s
        committer = committers.setdefault(job.key, SegmentCommitter())
        if job.final:
            result.final_latency_s.append(done - job.submitted_at_s)
            ends = result.speech_end_wall.get(job.stream, {})
            if job.segment in ends:
                result.final_after_speech_s.append(done - ends[job.segment])
            before = committer.committed if committer.is_final else None
            words = committer.on_final(recognition.words)
            if before is not None and before != words:
                result.final_changes += 1
            result.finals[job.stream][job.segment] = " ".join(w.w for w in words)
        else:
            result.partial_latency_s.append(done - job.submitted_at_s)
            if committer.on_partial(recognition.words) is not None:
                result.partials_shown += 1

    started = time.perf_counter()
    async with scheduler_factory(on_result) as scheduler:
        await stream(
            scheduler,
            sessions,
            result,
            duration_s=duration_s,
            real_time=real_time,
            use_prompt=use_prompt,
        )
        while scheduler.queue_depth() > 0 or _running(scheduler):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    result.wall_s = time.perf_counter() - started
    return result


def _running(scheduler: AsrPool | NaiveQueue) -> bool:
    if isinstance(scheduler, AsrPool):
        return scheduler.stats().running > 0
    return scheduler.busy


def pool_factory(recognizer: Recognizer, workers: int):
    return lambda on_result: AsrPool(recognizer, on_result, workers=workers)


def naive_factory(recognizer: Recognizer):
    return lambda on_result: NaiveQueue(recognizer, on_result)


def offline_text(recognizer: Recognizer, audio: np.ndarray) -> str:
    """Offline reference: faster-whisper's own long-form transcribe() (30 s windows, beam 5)."""
    segments, _ = recognizer._model.transcribe(audio, language="en", beam_size=5)  # noqa: SLF001
    return " ".join(s.text.strip() for s in segments)


def phase_accuracy(tracks: list[Track], fast: Recognizer, naive: Recognizer) -> None:
    print("\n== A. accuracy and encoder cost (simulated clock, all audio) ==")
    print(f"{'track':24} {'words':>5} {'offline':>8} {'stream':>8} {'stream-pad30':>12}  ratio")
    totals = defaultdict(list)
    costs = {}
    for label, recognizer in (("exact", fast), ("pad30", naive)):
        sessions = [(f"{t.name}.{t.speaker}", [t], 0) for t in tracks]
        for session in sessions:
            run = asyncio.run(
                run_streaming(
                    pool_factory(recognizer, 1),
                    [session],
                    duration_s=None,
                    real_time=False,
                    use_prompt=False,
                )
            )
            text = " ".join(
                v for _, v in sorted(run.finals[(session[0], session[1][0].speaker)].items())
            )
            totals[label].append(text)
            costs[label] = costs.get(label, 0.0) + run.final_compute_s
    refs, offs = [], []
    for i, track in enumerate(tracks):
        off = offline_text(naive, track.audio)
        offs.append(off)
        refs.append(track.reference)
        w_off, w_fast, w_pad = (
            wer(track.reference, off),
            wer(track.reference, totals["exact"][i]),
            wer(track.reference, totals["pad30"][i]),
        )
        ratio = w_fast / w_off if w_off else float("inf") if w_fast else 1.0
        print(
            f"{track.name + '.' + track.speaker:24} {len(normalise(track.reference).split()):5d} {w_off:8.3f} {w_fast:8.3f} {w_pad:12.3f}  {ratio:.2f}"
        )
    import jiwer

    def corpus(hyps: list[str]) -> float:
        return float(
            jiwer.wer([normalise(r) for r in refs], [normalise(h) or "<empty>" for h in hyps])
        )

    # noqa: E731
    w_off, w_fast, w_pad = corpus(offs), corpus(totals["exact"]), corpus(totals["pad30"])
    print(
        f"{'ALL (corpus WER)':24} {'':5} {w_off:8.3f} {w_fast:8.3f} {w_pad:12.3f}  {w_fast / w_off if w_off else float('nan'):.2f}  (goal <= 1.10)"
    )
    audio_s = sum(len(t.audio) for t in tracks) / SAMPLE_RATE_HZ
    print(
        f"final decodes, compute (encoder window only): exact {costs['exact']:.1f} s, "
        f"pad30 {costs['pad30']:.1f} s for {audio_s:.0f} s of party audio "
        f"({costs['pad30'] / max(costs['exact'], 1e-9):.1f}x)"
    )


def make_sessions(tracks: list[Track], n: int, call: str) -> list[tuple[str, list[Track], int]]:
    parties = [t for t in tracks if t.name == call]
    length = min(len(t.audio) for t in parties)
    frame = SAMPLE_RATE_HZ * FRAME_MS // 1000
    sessions = []
    for i in range(n):
        offset = (int(i * 7.3 * SAMPLE_RATE_HZ) % length) // frame * frame
        sessions.append((f"s{i}", parties, offset))
    return sessions


def report_run(label: str, n: int, run: RunResult, duration_s: float) -> bool:
    p50, p95 = run.pct(run.partial_latency_s, 50), run.pct(run.partial_latency_s, 95)
    f50, f95 = run.pct(run.final_latency_s, 50), run.pct(run.final_latency_s, 95)
    s95 = run.pct(run.final_after_speech_s, 95)
    held = (
        (p95 <= HELD_PARTIAL_P95_S or not run.partial_latency_s)
        and f95 <= HELD_FINAL_P95_S
        and run.feed_lag_max_s <= HELD_FEED_LAG_S
    )
    print(
        f"{label:22} N={n:2d}  partial p50 {p50:5.2f} p95 {p95:5.2f} ({len(run.partial_latency_s):4d})"
        f"  final p50 {f50:5.2f} p95 {f95:5.2f} ({len(run.final_latency_s):3d})"
        f"  speech-end->final p95 {s95:5.2f}  feed lag {run.feed_lag_max_s:4.2f}"
        f"  load {run.compute_s / duration_s:4.2f}  final changes {run.final_changes}"
        f"  {'HELD' if held else 'not held'}"
    )
    return held


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls-dir", type=Path, default=ROOT / "client" / "calls")
    parser.add_argument("--calls", nargs="*", help="call names (default: all English calls)")
    parser.add_argument("--clip", type=Path, action="append", default=[], help="extra audio file")
    parser.add_argument("--clip-text", action="append", default=[], help="reference for --clip")
    parser.add_argument("--call", default="good", help="call used for phases B and C")
    parser.add_argument("--duration", type=float, default=40.0, help="real-time seconds per run")
    parser.add_argument("--sessions", default="1,6,10,12,14", help="phase C session counts")
    parser.add_argument("--naive-sessions", default="1,2", help="phase C counts for the baseline")
    parser.add_argument("--skip", default="", help="phases to skip, e.g. A or BC")
    parser.add_argument("--quick", action="store_true", help="duration 20 s, sessions 1,10")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.sessions, args.naive_sessions = 20.0, "1,10", "1"
    logging.basicConfig(level=logging.WARNING)

    clips = []
    for i, path in enumerate(args.clip):
        text = args.clip_text[i] if i < len(args.clip_text) else ""
        sidecar = path.with_suffix(".txt")
        if not text and sidecar.exists():
            text = sidecar.read_text(encoding="utf-8").strip()
        clips.append((path, text))
    tracks = []
    if args.calls_dir.is_dir() and any(args.calls_dir.glob("*.json")):
        tracks = load_tracks(args.calls_dir, args.calls, clips)
    else:  # no bundled calls: the project's own fixtures
        fixtures = ROOT / "tests" / "data" / "asr"
        refs = json.loads((fixtures / "references.json").read_text(encoding="utf-8"))
        tracks = [
            Track(n, "rep", load_audio(fixtures / f"{n}.flac"), r["text"]) for n, r in refs.items()
        ] + load_tracks(fixtures / "no-calls", [], clips)
        for track in tracks:
            track.speech_flags = vad_flags(track.audio)
        args.call = tracks[0].name
    print(
        f"tracks: {', '.join(f'{t.name}.{t.speaker} ({len(t.audio) / SAMPLE_RATE_HZ:.0f} s)' for t in tracks)}"
    )

    t0 = time.perf_counter()
    fast = Recognizer("tiny.en", cpu_threads=1, num_workers=2, encode_mode="exact")
    naive = Recognizer("tiny.en", cpu_threads=2, num_workers=1, encode_mode="pad30")
    fast_1x2 = Recognizer("tiny.en", cpu_threads=2, num_workers=1, encode_mode="exact")
    for recognizer in (fast, naive, fast_1x2):
        recognizer.warm_up()
    print(f"models loaded and warmed up in {time.perf_counter() - t0:.1f} s (tiny.en int8, cpu)")

    if "A" not in args.skip:
        phase_accuracy(tracks, fast, naive)

    if "B" not in args.skip:
        print(
            f"\n== B. latency, one two-party session in real time ({args.duration:.0f} s of '{args.call}') =="
        )
        for label, factory in (
            ("sparring 2x1", pool_factory(fast, 2)),
            ("naive pad30 fifo", naive_factory(naive)),
        ):
            run = asyncio.run(
                run_streaming(
                    factory,
                    make_sessions(tracks, 1, args.call),
                    duration_s=args.duration,
                    real_time=True,
                )
            )
            report_run(label, 1, run, args.duration)
        print(
            "goals: partial p50 <= 1.0 s, final p95 <= 1.0 s (final latency counted from the VAD end;"
        )
        print("       speech-end->final adds the 0.5 s VAD hangover)")

    if "C" not in args.skip:
        print(
            f"\n== C. concurrency, N two-party sessions in real time ({args.duration:.0f} s each) =="
        )
        best = 0
        for n in [int(x) for x in args.sessions.split(",") if x]:
            run = asyncio.run(
                run_streaming(
                    pool_factory(fast, 2),
                    make_sessions(tracks, n, args.call),
                    duration_s=args.duration,
                    real_time=True,
                )
            )
            if report_run("sparring 2 workers x1", n, run, args.duration):
                best = max(best, n)
        for n in [int(x) for x in args.sessions.split(",") if x][-2:]:
            run = asyncio.run(
                run_streaming(
                    pool_factory(fast_1x2, 1),
                    make_sessions(tracks, n, args.call),
                    duration_s=args.duration,
                    real_time=True,
                )
            )
            report_run("sparring 1 worker x2", n, run, args.duration)
        naive_best = 0
        for n in [int(x) for x in args.naive_sessions.split(",") if x]:
            run = asyncio.run(
                run_streaming(
                    naive_factory(naive),
                    make_sessions(tracks, n, args.call),
                    duration_s=args.duration,
                    real_time=True,
                )
            )
            if report_run("naive pad30 fifo", n, run, args.duration):
                naive_best = max(naive_best, n)
        print(
            f"held in real time: sparring {best} sessions, naive {naive_best} (goal >= 10 on 2 cores)"
        )


if __name__ == "__main__":
    main()
