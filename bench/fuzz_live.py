"""The live-protocol fuzzer at bench size: 100,000 inputs or more (issue 12, item 6).

The same inputs and properties as tests/fuzz/ (`tests/fuzz/live_fuzz.py`): hypothesis
draws cases (a moment of a call, then frames: mutated messages of every client type, raw
text, binary), which run against a real server `--parallel` at a time, with a bystander call
streaming speech alongside; a share of the inputs are raw HTTP requests. A failing case is
printed and counted, and the run goes on. Prints the count of inputs and the time.

Usage: `python -m bench.fuzz_live [--inputs 100000] [--parallel 16] [--default-limits]`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.config import Config
from tests.fuzz.live_fuzz import (
    TRAINER_KEY,
    Case,
    FuzzTarget,
    HttpCase,
    Pause,
    cases,
    fuzz_config,
    http_cases,
    http_request,
)

BATCH = 200  # cases drawn at once, then run `--parallel` at a time
DRAW = settings(
    max_examples=BATCH,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=["generate"],
)


def draw_batch() -> list[Case | HttpCase]:
    """A batch of cases from hypothesis (3 WebSocket cases to 1 HTTP request)."""
    drawn: list[Case | HttpCase] = []

    @DRAW
    @given(case=st.one_of(cases, cases, cases, http_cases))
    def collect(case: Case | HttpCase) -> None:
        drawn.append(case)

    collect()
    return drawn


async def run_batch(target: FuzzTarget, batch: list[Case | HttpCase], parallel: int) -> list[str]:
    """Runs a batch in the server's loop; returns what failed, one line each."""
    gate = asyncio.Semaphore(parallel)
    server = target.server
    assert server is not None

    async def one(case: Case | HttpCase) -> str | None:
        async with gate:
            try:
                if isinstance(case, HttpCase):
                    status, raw = await http_request("127.0.0.1", server.port, case)
                    assert status is None or status < 500, f"{status}: {raw[:120]!r}"
                else:
                    await asyncio.wait_for(target._ws_case(case), 60)
            except Exception as exc:  # noqa: BLE001 - a failing case is reported, not fatal
                return f"{type(exc).__name__}: {str(exc)[:300]} in {str(case)[:300]}"
            return None

    results = await asyncio.gather(*(one(case) for case in batch))
    return [r for r in results if r]


def inputs_of(case: Case | HttpCase) -> int:
    if isinstance(case, HttpCase):
        return 1
    return sum(1 for f in case.frames if not isinstance(f, Pause))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--default-limits", action="store_true", help="the server's default limits")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # hypothesis' notes on big reprs would drown the figures
    config = (
        Config(port=0, model="none", trainer_key=TRAINER_KEY)
        if args.default_limits
        else fuzz_config()
    )
    failures: list[str] = []
    inputs = ws_cases = http = 0
    t0 = time.perf_counter()
    with FuzzTarget(config) as target:
        rss_start = rss_mb()
        next_report = 10_000
        while inputs < args.inputs:
            batch = draw_batch()
            logged = len(target.errors.records)
            failures += target.run(run_batch(target, batch, args.parallel), 600)
            failures += [
                f"logged at ERROR: {line[:300]}" for line in target.errors.lines()[logged:]
            ]
            inputs += sum(inputs_of(c) for c in batch)
            http += sum(isinstance(c, HttpCase) for c in batch)
            ws_cases += sum(isinstance(c, Case) for c in batch)
            if inputs >= next_report:
                next_report += 10_000
                elapsed = time.perf_counter() - t0
                print(
                    f"{inputs:>7} inputs  {elapsed:7.1f} s  {len(failures)} failures  "
                    f"rss {rss_mb():.0f} MB",
                    flush=True,
                )
        bystander_ok = "untouched"
        try:
            target.check_healthy()
        except AssertionError as exc:
            bystander_ok = f"TOUCHED: {exc}"
            failures.append(bystander_ok)
        rss_end = rss_mb()
        codes = sorted(target.tally.errors.items(), key=lambda kv: -kv[1])
    elapsed = time.perf_counter() - t0
    print(
        f"\n{inputs} inputs ({ws_cases} WebSocket cases, {http} HTTP requests) in {elapsed:.0f} s "
        f"({inputs / elapsed:.0f} inputs/s); limits {'default' if args.default_limits else 'raised'}"
    )
    print(
        f"bystander call: {bystander_ok}; process RSS {rss_start:.0f} -> {rss_end:.0f} MB "
        f"(max {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    print("error codes answered: " + ", ".join(f"{c} {n}" for c, n in codes))
    print(f"failures: {len(failures)}")
    for line in failures[:20]:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
