"""Soak: N two-party calls streamed in real time for M minutes (issue 12, item 7).

The server runs in a process of its own (started by this script, bench/live_calls.py) so
that its memory is its own: RSS is sampled from /proc every 5 s. Every call streams a
bundled call (client/calls), looped, both parties in 100 ms frames sent as a microphone
would (each frame once its 100 ms have passed). Reported per window (5 minutes; 30 s for
runs under 10 minutes): server RSS, nudge delay and final-transcript delay (from the end
of the audio the event is about to its arrival), and at the end whether anything was lost:

- `seq` is continuous (1, 2, 3, …) on every connection;
- every nudge and final transcript the server produced (the call's report, read after the
  call with the rep's token, and the `sparring_nudges_total` counter) reached the rep, in
  the same order.

Memory is "flat" when, after the first window (warm-up), the median RSS of each window stays
within 5 % of the others (single samples swing with the load; a leak moves the medians).
Usage: `python -m bench.soak` (40 calls, 60 minutes, tiny.en);
`python -m bench.soak --calls 4 --minutes 2 --model none` (the CI size);
`--call-minutes 15`: role-plays that end and start again, 40 at a time (what a call keeps
until its end, told apart from a leak); `--trace DIR` and then `--compare-traces DIR`: where
Python's own memory went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from itertools import cycle
from pathlib import Path

from bench.audio_io import ENGLISH_CALLS, call_frames
from bench.live_calls import (
    TRACEMALLOC_ENV,
    CallRun,
    Conn,
    ServerDidNotStart,
    http_get,
    metric_values,
    open_call,
    server_process,
    stream,
)
from bench.proc_memory import rss_mb

CALLS = ENGLISH_CALLS
SAMPLE_EVERY_S = 5.0
DRAIN_MAX_S = 600.0  # an overloaded node's queue: up to 60 s of speech per party
FLAT_WITHIN = 0.05  # window medians of RSS after warm-up stay within 5 %
END_SILENCE_S = 3.0
MIN_CALL_S = 60.0  # --call-minutes: a role-play shorter than this is not started
QUIET_BEFORE_END_S = 5.0  # --call-minutes: a rep ends once no transcript came for this long
QUIET_MAX_S = 60.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def memory_verdict(rss: list[tuple[float, float]], window_s: float) -> tuple[bool, str]:
    """Whether RSS (seconds since start, MB) is flat after the first window (warm-up).

    Flat: the median RSS of every later window within `FLAT_WITHIN` of the others. Single
    samples swing by a fifth under load (recognition's buffers come and go, the allocator
    gives pages back every 30 s); a leak moves the medians, a swing does not. The range of
    the samples is printed beside it.
    """
    after = [(t, mb) for t, mb in rss if t >= window_s]
    windows: dict[int, list[float]] = {}
    for t, mb in after:
        windows.setdefault(int(t // window_s), []).append(mb)
    medians = [statistics.median(v) for _, v in sorted(windows.items()) if len(v) >= 2]
    if len(medians) < 2:
        return True, "too short to judge after warm-up"
    spread = (max(medians) - min(medians)) / min(medians)
    flat = spread <= FLAT_WITHIN
    low, high = min(mb for _, mb in after), max(mb for _, mb in after)
    return flat, (
        f"{'flat' if flat else 'NOT flat'}: window medians "
        f"{' '.join(f'{m:.0f}' for m in medians)} MB after warm-up ({spread:.1%}, limit "
        f"{FLAT_WITHIN:.0%}); samples {low:.0f}-{high:.0f} MB"
    )


async def soak(args: argparse.Namespace, port: int, pid: int) -> int:
    ws_url = f"ws://127.0.0.1:{port}/v1/live"
    tracks = call_frames(CALLS)
    window_s = 300.0 if args.minutes >= 10 else 30.0
    t0 = time.time()
    until = t0 + args.minutes * 60
    rss: list[tuple[float, float]] = []

    async def sample() -> None:
        while True:
            rss.append((time.time() - t0, rss_mb(pid)))
            await asyncio.sleep(SAMPLE_EVERY_S)

    sampler = asyncio.create_task(sample(), name="soak.rss")
    if args.call_minutes:
        opening = asyncio.Lock()  # calls open one at a time, as in the default mode
        slots = [
            role_plays(ws_url, port, tracks, i, args.calls, args.call_minutes * 60, until, opening)
            for i in range(args.calls)
        ]
        calls = [call for done in await asyncio.gather(*slots) for call in done]
        sampler.cancel()
        print(
            f"{len(calls)} role-plays of up to {args.call_minutes:g} min, {args.calls} at a "
            "time; each ended by its rep once no transcript had come for "
            f"{QUIET_BEFORE_END_S:g} s (at most {QUIET_MAX_S:g} s after its last words)"
        )
    else:
        calls = [await open_call(ws_url, i) for i in range(args.calls)]
        names = cycle(CALLS)
        # Each microphone goes on after the last words, as it does until the rep presses
        # End: that ends the utterance under way, whose final reaches the rep before the
        # call ends (one still open at the end is recognised after it, and the server
        # keeps the connections open for it, at most `ENDING_MAX_S`). 3 s: the hangover,
        # the post-roll, attribution's look-ahead and a Silero batch take up to 1.5 s.
        await asyncio.gather(
            *(
                stream(call, tracks[next(names)], until, then_silence_s=END_SILENCE_S)
                for call in calls
            )
        )
        drained_s = await recognition_drained(port, DRAIN_MAX_S)
        sampler.cancel()
        for call in calls:
            await call.rep.ws.send(json.dumps({"type": "end"}))
        for call in calls:
            await collect_report(port, call)
        print(
            "recognition drained "
            + (
                f"in {drained_s:.0f} s"
                if drained_s is not None
                else f"NOT within {DRAIN_MAX_S:.0f} s"
            )
            + " after the streams stopped, before the reps ended their calls"
        )
    _, metrics = await http_get(port, "/metrics")
    nudges_counted = sum(metric_values(metrics, "sparring_nudges_total").values())
    return report(args, calls, rss, window_s, t0, nudges_counted)


async def role_plays(
    ws_url: str,
    port: int,
    tracks: dict[str, tuple[list[bytes], list[bytes]]],
    slot: int,
    slots: int,
    call_s: float,
    until: float,
    opening: asyncio.Lock,
) -> list[CallRun]:
    """One slot's role-plays, back to back until `until`, each `call_s` long.

    The first lasts `call_s * (slot + 1) / slots`, so that across slots calls end and
    start spread over time, as a room's role-plays do; a call that would be shorter than
    a minute is not started. Each ends as a rep ends one: after the last words, once what
    was said has shown (no transcript for `QUIET_BEFORE_END_S`, at most `QUIET_MAX_S`).
    """
    done: list[CallRun] = []
    length_s = call_s * (slot + 1) / slots
    names = cycle(CALLS[slot % len(CALLS) :] + CALLS[: slot % len(CALLS)])
    while time.time() + min(length_s, MIN_CALL_S) <= until:
        async with opening:
            call = await open_call(ws_url, slot + slots * len(done))
        end = min(time.time() + length_s, until)
        await stream(call, tracks[next(names)], end, then_silence_s=END_SILENCE_S)
        await quiet(call.rep, QUIET_BEFORE_END_S, QUIET_MAX_S)
        await call.rep.ws.send(json.dumps({"type": "end"}))
        await collect_report(port, call)
        done.append(call)
        length_s = call_s
    return done


async def quiet(conn: Conn, quiet_s: float, max_s: float) -> None:
    """Waits until `conn` has received no transcript for `quiet_s`, at most `max_s`."""
    start = time.time()
    while time.time() - start < max_s:
        last = max((t for t, _ in conn.of("transcript")), default=start)
        if time.time() - max(last, start) >= quiet_s:
            return
        await asyncio.sleep(0.5)


async def collect_report(port: int, call: CallRun) -> None:
    """Waits for both connections to close after the rep's `end`, then reads the report."""
    for conn in (call.rep, call.customer):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.reader, 60)  # type: ignore[arg-type]
    status, body = await http_get(port, f"/v1/sessions/{call.session}/report", call.rep_token)
    call.report = json.loads(body) if status == 200 else None


async def recognition_drained(port: int, max_s: float) -> float | None:
    """Waits until the server's recognition queue is empty (its /metrics), at most `max_s`;
    returns how long that took, None if it did not.

    A final still queued when the rep ends the call keeps the call's connections open
    until it comes, for `ENDING_MAX_S` at most (then it lands in the report only): so that
    a slow queue is not mistaken for a loss, the calls end once what was said has been
    recognised, as a rep ends a call after their last words.
    """
    start = time.monotonic()
    while time.monotonic() - start < max_s:
        _, body = await http_get(port, "/metrics")
        queued = sum(metric_values(body, "sparring_asr_queued_jobs").values())
        running = sum(metric_values(body, "sparring_asr_running_jobs").values())
        if queued + running == 0:
            return time.monotonic() - start
        await asyncio.sleep(1.0)
    return None


def report(
    args: argparse.Namespace,
    calls: list[CallRun],
    rss: list[tuple[float, float]],
    window_s: float,
    t0: float,
    nudges_counted: float,
) -> int:
    windows = int(args.minutes * 60 // window_s) + 1
    nudge_delays: list[list[float]] = [[] for _ in range(windows)]
    final_delays: list[list[float]] = [[] for _ in range(windows)]
    lost = gaps = unordered = lost_last = 0
    nudges_got = finals_got = nudges_made = finals_made = cleared = 0
    for call in calls:
        gaps += call.rep.seq_gaps() + call.customer.seq_gaps()
        got_nudges = [m for _, m in call.rep.of("nudge")]
        got_finals = [m for _, m in call.rep.of("transcript") if m.get("final") and m.get("words")]
        # A final without words clears the partials that were shown; the report has no line
        # for it (docs/protocol.md), so it is counted apart.
        cleared += sum(
            1 for _, m in call.rep.of("transcript") if m.get("final") and not m.get("words")
        )
        nudges_got += len(got_nudges)
        finals_got += len(got_finals)
        for at, m in call.rep.of("nudge"):
            delay = at - (call.started_at + m["at"])
            nudge_delays[min(windows - 1, int((at - t0) // window_s))].append(delay)
        for at, m in call.rep.of("transcript"):
            if m.get("final"):
                delay = at - (call.started_at + m["end"])
                final_delays[min(windows - 1, int((at - t0) // window_s))].append(delay)
        if call.report is None:
            lost += 1
            continue
        made_nudges = [n["id"] for n in call.report["nudges"]]
        made_finals = [
            (t["speaker"], t["segment"]) for t in call.report["transcript"] if t["final"]
        ]
        nudges_made += len(made_nudges)
        finals_made += len(made_finals)
        ids = [m["id"] for m in got_nudges]
        keys = [(m["speaker"], m["segment"]) for m in got_finals]
        missing = set(made_finals) - set(keys)
        lost += len(set(made_nudges) - set(ids)) + len(missing)
        unordered += (ids != made_nudges) + (keys != made_finals)
        if keys != made_finals:  # which: the first place the wire and the report part
            at = next(
                (i for i, (a, b) in enumerate(zip(keys, made_finals, strict=False)) if a != b),
                min(len(keys), len(made_finals)),
            )
            print(
                f"call {call.session}: finals differ from the report at #{at}: received "
                f"{keys[at : at + 3]}, reported {made_finals[at : at + 3]} "
                f"({len(keys)} received, {len(made_finals)} reported)"
            )
        for speaker in ("rep", "customer"):  # recognised after the call ended?
            theirs = [k for k in made_finals if k[0] == speaker]
            lost_last += len(missing & set(theirs[-1:]))

    print(
        f"\nsoak: {args.calls} calls x {args.minutes:g} min, model {args.model}, "
        f"windows of {window_s:g} s\n"
    )
    print(
        "| window | server RSS MB | nudges | nudge delay p50 / p95 / max s | finals | final delay p50 / p95 / max s |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for w in range(windows):
        start, end = w * window_s, (w + 1) * window_s
        in_window = [mb for t, mb in rss if start <= t < end]
        if not in_window and not nudge_delays[w] and not final_delays[w]:
            continue
        mb = f"{in_window[-1]:.0f}" if in_window else "-"
        nd, fd = nudge_delays[w], final_delays[w]
        nudge = (
            f"{percentile(nd, 0.5):.2f} / {percentile(nd, 0.95):.2f} / {max(nd):.2f}" if nd else "-"
        )
        final = (
            f"{percentile(fd, 0.5):.2f} / {percentile(fd, 0.95):.2f} / {max(fd):.2f}" if fd else "-"
        )
        print(
            f"| {start / 60:.1f}-{end / 60:.1f} min | {mb} | {len(nd)} | {nudge} | {len(fd)} | {final} |"
        )
    flat, verdict = memory_verdict(rss, window_s)
    print(
        f"\nmemory: {verdict}; samples every {SAMPLE_EVERY_S:g} s: "
        + " ".join(f"{mb:.0f}" for _, mb in rss)
    )
    print(
        f"nudges: {nudges_made} in the reports, {nudges_got} received, "
        f"{nudges_counted:.0f} counted by /metrics (sparring_nudges_total)"
    )
    print(
        f"finals: {finals_made} in the reports, {finals_got} received "
        f"(and {cleared} without words, which clear the partials shown)"
    )
    if lost_last:
        print(f"  of those not received, {lost_last} were their speaker's last of the call")
    if nudges_counted != nudges_got:
        lost += 1
    print(
        f"seq gaps: {gaps}; lost: {lost}; out of order: {unordered}; "
        f"all delays: nudges p50 {percentile(sum(nudge_delays, []), 0.5):.2f} s, "
        f"finals p50 {percentile(sum(final_delays, []), 0.5):.2f} s"
    )
    ok = gaps == 0 and lost == 0 and unordered == 0
    print("verdict: " + ("nothing lost" if ok else "LOST OR REORDERED"))
    return 0 if ok and (flat or not args.strict_memory) else 1


def compare_traces(directory: Path, top: int = 15) -> None:
    """Python's traced memory in each snapshot, and what grew most from the second to the last
    (the first is taken during warm-up)."""
    import tracemalloc

    paths = sorted(directory.glob("*.trace"))
    snapshots = [tracemalloc.Snapshot.load(str(p)) for p in paths]
    for path, snap in zip(paths, snapshots, strict=True):
        total = sum(stat.size for stat in snap.statistics("filename"))
        print(f"{int(path.stem) / 60:6.1f} min: {total / 1e6:8.1f} MB traced")
    if len(snapshots) < 3:
        return
    print(f"\ngrowth from {int(paths[1].stem) / 60:.1f} to {int(paths[-1].stem) / 60:.1f} min:")
    for stat in snapshots[-1].compare_to(snapshots[1], "traceback")[:top]:
        print(f"{stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+8d} blocks")
        for line in stat.traceback.format(limit=4):
            print("    " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument(
        "--call-minutes",
        type=float,
        metavar="M",
        help="role-plays of M minutes that end and start again (default: every call lasts "
        "the whole soak); tells what a call keeps until it ends from a leak",
    )
    parser.add_argument("--strict-memory", action="store_true", help="fail when RSS is not flat")
    parser.add_argument(
        "--trace",
        metavar="DIR",
        help="the server writes tracemalloc snapshots to DIR every 2 minutes (slower); "
        "compare them with `python -m bench.soak --compare-traces DIR`",
    )
    parser.add_argument(
        "--compare-traces", metavar="DIR", help="print the growth between snapshots"
    )
    parser.add_argument(
        "--config",
        default="{}",
        metavar="JSON",
        help="further server Config fields, e.g. '{\"trim_memory\": false}'",
    )
    args = parser.parse_args()
    if args.compare_traces:
        compare_traces(Path(args.compare_traces))
        return 0
    if args.trace:
        os.environ[TRACEMALLOC_ENV] = str(Path(args.trace).resolve())
    try:
        with server_process(args.model, json.loads(args.config)) as server:
            return asyncio.run(soak(args, server.port, server.pid))
    except ServerDidNotStart as exc:
        print(f"the server did not start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
