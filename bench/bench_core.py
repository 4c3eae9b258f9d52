#!/usr/bin/env python
"""The pure session core alone: CPU per stream, against bare webrtcvad in the same process.

Feeds a bundled call (default `pushy`, both parties, 100 ms frames, no speech model)
through `Session` several times and times it with `time.process_time`, then runs the same
audio through nothing but webrtcvad on 30 ms frames (the least any coach must do). No
sockets: this isolates the core's own cost from the transport's, so a redesign of the
core can be compared run against run (e.g. on a checkout of the commit before it).

    .venv/bin/python bench/bench_core.py                 # pushy, 4 sessions x 7 rounds
    .venv/bin/python bench/bench_core.py --call good --rounds 11
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import webrtcvad  # noqa: E402

from client.stream import read_audio  # noqa: E402
from models.playbook import default_playbook  # noqa: E402
from models.wire import Consent, Role  # noqa: E402
from server.core.session import Session  # noqa: E402
from server.core.vad import FRAME_BYTES  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--call", default="pushy")
    ap.add_argument("--sessions", type=int, default=4, help="sessions per round")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    calls = resources.files("client").joinpath("calls")
    with (
        resources.as_file(calls / f"{args.call}.rep.flac") as r,
        resources.as_file(calls / f"{args.call}.customer.flac") as c,
    ):
        rep_audio, customer_audio = read_audio(r), read_audio(c)
    rep_frames, customer_frames = list(rep_audio.frames(0.1)), list(customer_audio.frames(0.1))
    audio_s = len(rep_frames) * 0.1
    playbook = default_playbook()

    def core_round() -> float:
        start = time.process_time()
        for k in range(args.sessions):
            s = Session(f"s{k}", playbook=playbook)
            rep, _ = s.join(Role.REP, "Anna", rep_audio.format())
            customer, _ = s.join(Role.CUSTOMER, "Bob", customer_audio.format())
            s.consent(rep, Consent(granted=True), 0.0)
            s.consent(customer, Consent(granted=True), 0.0)
            for a, b in zip(rep_frames, customer_frames, strict=True):
                s.feed_audio(rep, a)
                s.feed_audio(customer, b)
            s.end(rep, 0.0)
        return time.process_time() - start

    def vad_round() -> float:
        start = time.process_time()
        for _ in range(args.sessions):
            for frames in (rep_frames, customer_frames):
                vad = webrtcvad.Vad(2)
                for chunk in frames:
                    for i in range(0, len(chunk) - FRAME_BYTES + 1, FRAME_BYTES):
                        vad.is_speech(chunk[i : i + FRAME_BYTES], 16000)
        return time.process_time() - start

    core, bare = [], []
    for _ in range(args.rounds):  # interleaved, so that a busy moment hits both alike
        core.append(core_round())
        bare.append(vad_round())
    streams_s = 2 * args.sessions * audio_s  # stream-seconds of audio per round
    core_pct = statistics.median(core) / streams_s * 100
    bare_pct = statistics.median(bare) / streams_s * 100
    print(f"{args.call}: {audio_s:.0f} s of audio, {args.sessions} sessions x {args.rounds} rounds")
    print(f"core   median {statistics.median(core):.3f} s, min {min(core):.3f} s per round")
    print(f"bare   median {statistics.median(bare):.3f} s, min {min(bare):.3f} s per round")
    print(
        f"CPU per stream: core {core_pct:.4f}% of a core, bare webrtcvad {bare_pct:.4f}%,"
        f" ratio {core_pct / bare_pct:.2f}"
    )


if __name__ == "__main__":
    main()
