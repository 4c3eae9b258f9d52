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
