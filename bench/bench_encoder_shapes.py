#!/usr/bin/env python
"""Memory and time of Whisper's encoder over every utterance length, with oneDNN's
primitive cache bounded (the server's setting, server/asr/__init__.py) and at its default.

"exact" encoding feeds the encoder only the audio there is, so each utterance length is a
new input shape; CTranslate2's convolutions (oneDNN) cache a compiled primitive per shape.
Each setting runs in a fresh process (the setting is read once, when CTranslate2 starts):
tiny.en, int8, one thread; every `--step`-th shape from the shortest to the 30 s window,
`--passes` times; RSS and seconds per encode after each pass.

    .venv/bin/python bench/bench_encoder_shapes.py              # every 2nd shape (1,251), ~5 min
    .venv/bin/python bench/bench_encoder_shapes.py --step 6     # 417 shapes, ~2 min
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTING = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"

CHILD = """
import os, sys, time
import numpy as np
from server.asr.engine import EXACT_MIN_FRAMES, FULL_WINDOW_FRAMES, Recognizer
from bench.proc_memory import rss_mb

step, passes = int(sys.argv[1]), int(sys.argv[2])
recognizer = Recognizer("tiny.en", cpu_threads=1)
features = np.random.default_rng(0).normal(0, 1, (80, FULL_WINDOW_FRAMES)).astype(np.float32)
print(f"  loaded: {rss_mb(os.getpid()):.0f} MB", flush=True)
for k in range(passes):
    started, n = time.perf_counter(), 0
    for frames in range(EXACT_MIN_FRAMES, FULL_WINDOW_FRAMES + 1, step):
        recognizer._model.encode(recognizer._window(features[:, :frames]))
        n += 1
    spent = (time.perf_counter() - started) / n
    print(f"  pass {k + 1}: {n} shapes, {spent * 1000:.1f} ms per encode, RSS {rss_mb(os.getpid()):.0f} MB", flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=2, help="every n-th encoder shape (2 = all)")
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    for label, value in (("bounded (the server's setting)", None), ("oneDNN's default", "1024")):
        env = {k: v for k, v in os.environ.items() if k != SETTING}
        if value is not None:
            env[SETTING] = value
        print(f"{label}:", flush=True)
        subprocess.run(
            [sys.executable, "-c", CHILD, str(args.step), str(args.passes)],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            check=True,
        )


if __name__ == "__main__":
    main()
