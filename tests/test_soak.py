"""The soak at its smallest (issue 12, item 7): two calls streamed in real time for 2 minutes.

Runs bench/soak.py as a user would (its own server process) and asserts what it checks:
`seq` continuous on every connection, and every nudge and final the server produced
received, in order. Marked slow: it takes about 2.5 minutes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_soak_two_calls_two_minutes_nothing_lost():
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--calls", "2", "--minutes", "2", "--model", "none"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "seq gaps: 0; lost: 0; out of order: 0" in done.stdout


def test_soak_memory_verdict_tells_growth_from_swings():
    from bench.soak import memory_verdict

    swings = [(t * 5.0, 800.0 + (160.0 if t % 6 == 0 else 0.0)) for t in range(720)]
    assert memory_verdict(swings, 300.0)[0]  # a fifth up every 30 s, an hour long: flat
    growth = [(t * 5.0, 800.0 + 0.05 * t) for t in range(720)]  # 36 MB an hour, 4.5 %
    assert memory_verdict(growth, 300.0)[0]
    leak = [(t * 5.0, 800.0 + 0.2 * t) for t in range(720)]  # 144 MB an hour
    flat, verdict = memory_verdict(leak, 300.0)
    assert not flat and "NOT flat" in verdict
