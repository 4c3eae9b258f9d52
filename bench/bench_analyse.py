#!/usr/bin/env python
"""`sparring analyse` on a 10-minute call: seconds and x real time (goal: under 60 s with
tiny.en on 2 cores, issue 11).

The call is the bundled English calls end to end (good, pushy, closed, fillers, good again:
10:03), each party's track concatenated, written as one stereo FLAC (left rep, right
customer). Timed apart: decoding the file, loading the model, the analysis (both passes,
recognition included), keeping the call in SQLite; and the whole command as a user runs it.

    .venv/bin/python bench/bench_analyse.py                      # tiny.en, 2 threads x 1
    .venv/bin/python bench/bench_analyse.py --threads 1 --workers 2
    .venv/bin/python bench/bench_analyse.py --minutes 3 --no-cli
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from client.stream import read_audio  # noqa: E402
from models.playbook import default_playbook  # noqa: E402
from server.asr.engine import Recognizer  # noqa: E402
from server.media import read_tracks  # noqa: E402
from server.recording import Declared, analyse, keep  # noqa: E402
from server.voice import silero  # noqa: E402

CALLS = ("good", "pushy", "closed", "fillers", "good")
CALLS_DIR = ROOT / "client" / "calls"


def long_call(path: Path, minutes: float) -> float:
    """Writes the bundled calls end to end as one stereo FLAC; returns its seconds."""
    rep, customer = [], []
    total = 0
    want = int(minutes * 60 * 16000)
    while total < want:
        for name in CALLS:
            r = read_audio(CALLS_DIR / f"{name}.rep.flac").samples
            c = read_audio(CALLS_DIR / f"{name}.customer.flac").samples
            n = max(len(r), len(c))
            rep.append(np.pad(r, (0, n - len(r))))
            customer.append(np.pad(c, (0, n - len(c))))
            total += n
            if total >= want:
                break
    stereo = np.stack([np.concatenate(rep), np.concatenate(customer)], axis=1)
    soundfile.write(path, stereo, 16000, subtype="PCM_16")
    return len(stereo) / 16000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 threads per worker")
    parser.add_argument("--workers", type=int, default=1, help="recognitions at once")
    parser.add_argument("--no-cli", action="store_true", help="skip the whole-command run")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "call.flac"
        duration_s = long_call(path, args.minutes)
        print(f"call: {duration_s:.0f} s of audio ({duration_s / 60:.1f} min), stereo FLAC")

        t = time.perf_counter()
        tracks = read_tracks([path])
        decode_s = time.perf_counter() - t
        t = time.perf_counter()
        recognizer = Recognizer(args.model, cpu_threads=args.threads, num_workers=args.workers)
        load_s = time.perf_counter() - t
        cpu_before = time.process_time()
        analysed = analyse(
            tracks,
            Declared("Anna", "Bram"),
            playbook=default_playbook(),
            recognizer=recognizer,
            workers=args.workers,
            confirmer_factory=silero.SileroConfirmer if silero.available() else None,
        )
        cpu_s = time.process_time() - cpu_before
        t = time.perf_counter()
        asyncio.run(keep(analysed, Path(tmp) / "data", node="bench"))
        keep_s = time.perf_counter() - t
        report = analysed.session.report()
        print(
            f"{args.model}, {args.threads} threads x {args.workers} workers:"
            f" decode {decode_s:.2f} s, model load {load_s:.2f} s,"
            f" analysis {analysed.wall_s:.1f} s ({duration_s / analysed.wall_s:.1f}x real time,"
            f" {analysed.recognized} utterances), keep {keep_s:.2f} s"
        )
        # On a shared machine the wall time says as much about the neighbours as about us;
        # the CPU time this process used, spread over the cores, is what a quiet machine
        # would take at best.
        cores = os.cpu_count() or 1
        print(
            f"  CPU {cpu_s:.1f} s (all threads): at best {cpu_s / cores:.1f} s on {cores} quiet"
            f" cores ({duration_s / (cpu_s / cores):.1f}x real time)"
        )
        print(
            f"  report: {len(report.transcript)} final lines, {len(report.nudges)} nudges,"
            f" scorecard {'yes' if report.scorecard else 'no'}"
        )
        if not args.no_cli:
            t = time.perf_counter()
            subprocess.run(
                [
                    sys.executable, "-m", "client.cli", "analyse", str(path),
                    "--consent", "rep=Anna", "--consent", "customer=Bram",
                    "--model", args.model, "--data-dir", str(Path(tmp) / "cli"),
                ],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            cli_s = time.perf_counter() - t
            print(
                f"  whole command (start, load, decode, analyse, keep, print): {cli_s:.1f} s"
                f" ({duration_s / cli_s:.1f}x real time)"
            )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
