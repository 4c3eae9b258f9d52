"""Pitch spread and level per clip, flat vs lively separation, and the cost of ProsodyTracker.

Run: .venv/bin/python bench/bench_prosody.py [--real] [--repeats N]
Prints, per fixture clip (tests/data/prosody, espeak-ng with SSML prosody range): VAD-voiced
and pitched seconds, median pitch, spread (p10..p90, semitones) and level; the flat vs
lively separation per voice; then the CPU cost per 30 ms frame of `ProsodyTracker.feed`
on voiced frames (and on unvoiced ones) next to webrtcvad's `is_speech` on the same
frames in the same process. --real adds the real recordings in ../shared/audio (read
there, never copied), with the stability of the spread over successive 10 s windows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soundfile
import soxr
import webrtcvad

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.core.prosody import ProsodyTracker  # noqa: E402
from server.core.vad import DEFAULT_AGGRESSIVENESS, FRAME_BYTES, FRAME_S, RATE_HZ  # noqa: E402

DATA_DIR = ROOT / "tests" / "data" / "prosody"
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
# Single-speaker real recordings (the dialogue clips mix two voices: their spread is the
# distance between the speakers, not intonation).
REAL_CLIPS = (
    "jfk.flac",
    "en/lhotse_2412-153948-0000.flac",
    "multilingual.mp3",
    "nl/css10_20000_mijlen_0029.wav",
    "nl/dutch-vl-tts_vl04108.wav",
    "nl/dutch-vl-tts_vl12745.wav",
)


def read_pcm(path: Path) -> bytes:
    """Any soundfile-readable file as 16 kHz mono PCM16 bytes (float files scaled)."""
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = data[:, 0]
    if rate != RATE_HZ:
        mono = soxr.resample(mono, rate, RATE_HZ)
    return np.clip(np.round(mono * 32767), -32768, 32767).astype(np.int16).tobytes()


def frames_of(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]


def measure(pcm: bytes, window_s: float = 30.0) -> ProsodyTracker:
    """Feeds a clip with webrtcvad's raw verdict per frame; returns the tracker."""
    vad = webrtcvad.Vad(DEFAULT_AGGRESSIVENESS)
    tracker = ProsodyTracker(window_s=window_s)
    for i, frame in enumerate(frames_of(pcm)):
        tracker.feed(frame, vad.is_speech(frame, RATE_HZ), i * FRAME_S)
    return tracker


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report_clip(name: str, pcm: bytes) -> float | None:
    snapshot = measure(pcm).snapshot()
    print(
        f"{name:34s} {len(pcm) / 2 / RATE_HZ:6.1f} {snapshot.voiced_s:7.1f} "
        f"{snapshot.pitched_s:8.1f} {fmt(snapshot.median_f0_hz, 0):>7s} "
        f"{fmt(snapshot.spread_st):>9s} {fmt(snapshot.level_dbfs, 1):>8s}"
    )
    return snapshot.spread_st


def header() -> None:
    print(
        f"{'clip':34s} {'dur_s':>6s} {'voiced':>7s} {'pitched':>8s} {'f0_Hz':>7s} "
        f"{'spread_st':>9s} {'lvl_dBFS':>8s}"
    )


def window_stability(pcm: bytes, window_s: float = 10.0) -> list[float]:
    """Spread over successive non-overlapping `window_s` stretches of voiced speech."""
    vad = webrtcvad.Vad(DEFAULT_AGGRESSIVENESS)
    tracker = ProsodyTracker(window_s=window_s)
    spreads: list[float] = []
    window_frames = round(window_s / FRAME_S)
    n_voiced = 0
    for i, frame in enumerate(frames_of(pcm)):
        voiced = vad.is_speech(frame, RATE_HZ)
        tracker.feed(frame, voiced, i * FRAME_S)
        n_voiced += voiced
        if voiced and n_voiced % window_frames == 0:
            spread = tracker.pitch_spread_st()
            if spread is not None:
                spreads.append(round(spread, 2))
    return spreads


def percentile_us(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1e6, q))


def bench_cost(frames: list[bytes], repeats: int) -> None:
    """Per-frame CPU time of tracker.feed vs webrtcvad.is_speech on the same frames."""
    vad = webrtcvad.Vad(DEFAULT_AGGRESSIVENESS)
    flags = [vad.is_speech(frame, RATE_HZ) for frame in frames]
    voiced = [f for f, v in zip(frames, flags, strict=True) if v]
    clock = time.perf_counter
    feed_voiced: list[float] = []
    feed_unvoiced: list[float] = []
    vad_cost: list[float] = []
    for _ in range(repeats):
        tracker = ProsodyTracker()
        for i, (frame, flag) in enumerate(zip(frames, flags, strict=True)):
            t0 = clock()
            tracker.feed(frame, flag, i * FRAME_S)
            (feed_voiced if flag else feed_unvoiced).append(clock() - t0)
        for frame in voiced:
            t0 = clock()
            vad.is_speech(frame, RATE_HZ)
            vad_cost.append(clock() - t0)
    every_other: list[float] = []
    for _ in range(repeats):
        tracker = ProsodyTracker(pitch_every_frames=2)
        for i, frame in enumerate(voiced):
            t0 = clock()
            tracker.feed(frame, True, i * FRAME_S)
            every_other.append(clock() - t0)
    tracker = ProsodyTracker()
    for i, (frame, flag) in enumerate(zip(frames, flags, strict=True)):
        tracker.feed(frame, flag, i * FRAME_S)
    t0 = clock()
    n_snapshots = 200
    for _ in range(n_snapshots):
        tracker.snapshot()
    snapshot_us = (clock() - t0) / n_snapshots * 1e6
    share = len(voiced) / len(frames)
    mean_all = (sum(feed_voiced) + sum(feed_unvoiced)) / (len(feed_voiced) + len(feed_unvoiced))
    print(f"\nCPU per 30 ms frame ({len(voiced)} voiced of {len(frames)} frames, x{repeats}):")
    print(f"{'':34s} {'median_us':>9s} {'p99_us':>8s} {'mean_us':>8s}")
    rows = (
        ("ProsodyTracker.feed, voiced", feed_voiced),
        ("ProsodyTracker.feed, unvoiced", feed_unvoiced),
        ("feed, voiced, pitch_every_frames=2", every_other),
        ("webrtcvad.is_speech, voiced", vad_cost),
    )
    for label, samples in rows:
        print(
            f"{label:34s} {percentile_us(samples, 50):9.1f} {percentile_us(samples, 99):8.1f} "
            f"{statistics.fmean(samples) * 1e6:8.1f}"
        )
    print(
        f"feed over all frames (voiced share {share:.0%}): mean {mean_all * 1e6:.1f} us "
        f"= {mean_all / FRAME_S:.3%} of one core per stream"
    )
    print(f"snapshot() on a full window: {snapshot_us:.0f} us per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="add ../shared/audio clips")
    parser.add_argument("--repeats", type=int, default=5, help="passes for the cost figures")
    args = parser.parse_args()

    print("espeak-ng fixtures (tests/data/prosody):")
    header()
    spreads: dict[str, float | None] = {}
    fixture_pcm: dict[str, bytes] = {}
    for path in sorted(DATA_DIR.glob("*.flac")):
        fixture_pcm[path.stem] = read_pcm(path)
        spreads[path.stem] = report_clip(path.stem, fixture_pcm[path.stem])

    print("\nflat vs lively (same text, same voice):")
    for voice in ("m", "f"):
        flat, lively = spreads.get(f"flat_{voice}"), spreads.get(f"lively_{voice}")
        if flat is None or lively is None:
            continue
        print(
            f"  voice {voice}: flat {flat:.2f} st, lively {lively:.2f} st, "
            f"gap {lively - flat:.2f} st, flat/lively {flat / lively:.2f}"
        )

    if args.real:
        print("\nreal single-speaker recordings (../shared/audio):")
        header()
        for name in REAL_CLIPS:
            path = SHARED_AUDIO / name
            if path.exists():
                report_clip(name, read_pcm(path))
        multilingual = SHARED_AUDIO / "multilingual.mp3"
        if multilingual.exists():
            spread_runs = window_stability(read_pcm(multilingual))
            print(f"\nspread of successive 10 s voiced windows, multilingual.mp3: {spread_runs}")

    frames = [
        f
        for name in ("lively_m", "flat_m", "lively_f", "flat_f")
        for f in frames_of(fixture_pcm[name])
    ]
    bench_cost(frames, args.repeats)


if __name__ == "__main__":
    main()
