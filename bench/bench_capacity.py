"""Recognition capacity as a user feels it (issue 11, item 2): N two-party calls on one
server, from the end of each utterance to its final transcript, finals lost, WER against
offline transcribe(), and how fast the server recovers when the load drops.

Each level runs on a fresh server (a process of its own, bench/live_calls.py: tiny.en, the
trainer key, no idle or length limit). Every call streams a bundled English call (pushy,
good, closed, fillers in turn), both parties in 100 ms frames, each sent once its audio has
passed, looped; the calls on one track start evenly spread over it (from a random phase)
and each after a random delay of up to `START_SPREAD_S`, so that utterance ends are spread
in time. The offsets and delays depend only on `--seed` and the level, so every variant
gets the same load.

- Latency, per ground-truth utterance (client/calls/<name>.json) that starts after audio
  time 0 and ends between `--warmup-s` and `TAIL_S` before streaming stops: from the wall
  time its last word ended in the stream to the arrival, on the rep's connection, of the
  non-empty final `transcript` of that speaker whose [start, end] (session audio time)
  holds that end, give or take `MATCH_SLACK_S`. "Within the call": it arrived before
  streaming stopped; "all": by the end of the drain (up to `DRAIN_S` after the last frame,
  shorter once nothing is queued or running); lost: never. An utterance that the VAD
  joined to the next one waits for the end of both (their pauses are under the hangover),
  so the same is also given from the end of each final's own last word.
- WER: each final's words (session times) go to the nearest truth utterance of their
  speaker; corpus WER of the measured utterances (lower case, no punctuation, as
  bench_pipeline_wer.py), against faster-whisper's `transcribe()` over each whole party
  track (beam 5, no VAD filter, word times; int8 on the CPU, kept in a cache), whose
  words are assigned the same way. Goal: stream / offline <= 1.1 at every level.
- Server CPU (/proc/<pid>/stat) and this process's CPU, in % of all cores, after the
  warm-up; how late frames went out; the server's recognition counters (/metrics) at the
  end of the level; queued jobs and degrade level polled every second.
- Recovery, at the highest level: once `--seconds` have streamed, all but `--recover-to`
  calls stop and those stream `--recover-s` more; reported: when the queue of finals first
  reads empty after the drop, and from which `RECOVERY_BIN_S` bin of utterance ends on the
  p95 latency of the remaining calls stays under `RECOVERED_BELOW_S`.

Usage:
    .venv/bin/python -m bench.bench_capacity                 # 16, 40, 64 calls; ~10 min
    .venv/bin/python -m bench.bench_capacity --quick         # 4, 8 calls, 40 s: a smoke check
    .venv/bin/python -m bench.bench_capacity --variant today: --variant "one:asr_workers=1"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
import types
import typing
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import jiwer

from bench.audio_io import CALLS_DIR, ENGLISH_CALLS, call_frames, load_audio
from bench.bench_pipeline_wer import normalise
from bench.bench_sessions import cpu_seconds, percentile
from bench.live_calls import (
    RATE_HZ,
    CallRun,
    ServerProcess,
    http_get,
    metric_values,
    open_call,
    server_process,
    stream,
)
from bench.proc_memory import rss_mb
from server.config import Config

CALLS = ENGLISH_CALLS
SPEAKERS = ("rep", "customer")
START_SPREAD_S = 3.0  # each call starts after a random delay of up to this
# An utterance ending this close to the stop may lack the silence after it that ends it
# (VAD hangover 0.3 s, post-roll 0.21 s) and its recognition time.
TAIL_S = 3.0
MATCH_SLACK_S = 0.3  # Whisper's word times are off by a word's fraction
DRAIN_S = 60.0  # the longest wait for finals after the last frame
QUIET_POLLS = 5  # polls in a row with nothing queued or running: no final is coming
POLL_S = 1.0
RECOVERED_BELOW_S = 1.0
RECOVERY_BIN_S = 5.0
OFFLINE_BEAM = 5
WER_GOAL = 1.1
# The issue's goals, by number of calls: (p95 limit or None, every final delivered,
# recovery limit in s or None).
GOALS: dict[int, tuple[float | None, bool, float | None]] = {
    16: (1.0, False, None),
    40: (2.0, True, None),
    64: (None, True, 30.0),
}
QUICK = {"calls": "4,8", "seconds": 40.0, "warmup_s": 10.0, "recover_to": 2, "recover_s": 20.0}
DEFAULTS = {
    "calls": "16,40,64",
    "seconds": 120.0,
    "warmup_s": 20.0,
    "recover_to": 16,
    "recover_s": 60.0,
}


# --- the bundled calls and their ground truth -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Utterance:
    index: int  # in the call's ground truth
    speaker: str
    text: str
    start_s: float  # in the track
    end_s: float


@dataclass(frozen=True, slots=True)
class Track:
    """A bundled call as streamed: its frames, where each frame starts, its truth."""

    name: str
    frames: tuple[list[bytes], list[bytes]]  # rep, customer
    frame_start_s: tuple[float, ...]
    loop_s: float
    utterances: tuple[Utterance, ...]


def load_tracks(names: tuple[str, ...]) -> dict[str, Track]:
    tracks = {}
    for name, frames in call_frames(names).items():
        samples = [len(f) // 2 for f in frames[0]]
        starts = tuple(s / RATE_HZ for s in accumulate(samples, initial=0))
        truth = json.loads((CALLS_DIR / f"{name}.json").read_text())
        utterances = tuple(
            Utterance(i, u["speaker"], u["text"], u["start"], u["end"])
            for i, u in enumerate(truth["utterances"])
        )
        tracks[name] = Track(name, frames, starts[:-1], starts[-1], utterances)
    return tracks


def nearest(mid_s: float, spans: list[tuple[float, float]]) -> int:
    """Index of the span closest to `mid_s` (0 inside it); spans must not be empty."""
    return min(range(len(spans)), key=lambda i: max(spans[i][0] - mid_s, mid_s - spans[i][1], 0.0))


def assign_words(
    words: list[tuple[float, str]], spans: list[tuple[float, float]]
) -> list[list[str]]:
    """Each word (mid time, text), in time order, to the nearest span."""
    out: list[list[str]] = [[] for _ in spans]
    if spans:
        for mid_s, word in sorted(words):
            out[nearest(mid_s, spans)].append(word)
    return out


def offline_texts(model_spec: str, tracks: dict[str, Track]) -> dict[str, dict[int, str]]:
    """faster-whisper's transcribe() over each whole party track, by truth utterance.

    Kept in `~/.cache/sparring/bench/` (or under `$SPARRING_CACHE`) by model, faster-whisper
    version, settings and the tracks' bytes: about a minute on 2 cores, the same every run.
    """
    import faster_whisper

    from server.asr.models import default_cache_dir, resolve_model

    resolved = resolve_model(model_spec)
    if resolved is None:
        raise SystemExit("bench_capacity needs recognition: --model none measures nothing")
    cache = default_cache_dir().parent / "bench" / "capacity_offline.json"
    try:
        cached = json.loads(cache.read_text())
    except (OSError, ValueError):
        cached = {}
    texts: dict[str, dict[int, str]] = {}
    model = None
    for track in tracks.values():
        digest = hashlib.sha256()
        for speaker in SPEAKERS:
            digest.update((CALLS_DIR / f"{track.name}.{speaker}.flac").read_bytes())
        key = (
            f"{resolved.path}|{faster_whisper.__version__}|beam {OFFLINE_BEAM}|int8|"
            f"{digest.hexdigest()}"
        )
        if key in cached:
            texts[track.name] = {int(i): text for i, text in cached[key].items()}
            continue
        if model is None:
            model = faster_whisper.WhisperModel(
                resolved.path,
                device="cpu",
                compute_type="int8",
                cpu_threads=os.cpu_count() or 1,
                local_files_only=not resolved.is_hub,
            )
        texts[track.name] = {}
        for speaker in SPEAKERS:
            segments, _ = model.transcribe(
                load_audio(CALLS_DIR / f"{track.name}.{speaker}.flac"),
                language="en",
                beam_size=OFFLINE_BEAM,
                vad_filter=False,
                word_timestamps=True,
            )
            words = [
                ((w.start + w.end) / 2, w.word.strip())
                for segment in segments
                for w in segment.words or ()
            ]
            mine = [u for u in track.utterances if u.speaker == speaker]
            assigned = assign_words(words, [(u.start_s, u.end_s) for u in mine])
            for u, hyp in zip(mine, assigned, strict=True):
                texts[track.name][u.index] = " ".join(hyp)
        cached[key] = texts[track.name]
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(cached))
    return texts


# --- variants: Config overrides ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    overrides: dict[str, Any]


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def coerce(key: str, text: str) -> Any:
    """`text` as the type of `Config.<key>`.

    Raises:
        ValueError: `key` is no Config field, or `text` is no value of its type.
    """
    hints = typing.get_type_hints(Config)
    if key not in hints:
        fields = ", ".join(f.name for f in dataclasses.fields(Config))
        raise ValueError(f"unknown Config field {key!r}; the fields are: {fields}")
    hint = hints[key]
    if typing.get_origin(hint) is tuple:  # allow_origins: a+b
        return [part for part in text.split("+") if part]
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    # None, then the narrowest type first: "2" is an int for `int | None`.
    for option in sorted(options, key=[type(None), bool, int, float, str].index):
        if option is type(None) and text.lower() in ("none", "null"):
            return None
        if option is bool and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        if option in (int, float):
            with contextlib.suppress(ValueError):
                return option(text)
        if option is str:
            return text
    raise ValueError(f"{key}={text!r}: expected {hint}")


def parse_overrides(text: str) -> dict[str, Any]:
    """`KEY=VALUE,KEY=VALUE` (a comma followed by `KEY=` starts the next)."""
    overrides = {}
    for item in re.split(r",(?=\w+=)", text):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not KEY=VALUE")
        overrides[key.strip()] = coerce(key.strip(), value.strip())
    return overrides


def parse_variants(specs: list[str], common: list[str]) -> list[Variant]:
    """`NAME:KEY=VALUE,...` each (a spec without `NAME:` is named after itself), with the
    `--config` overrides under each; one variant "today" when none is given.

    Raises:
        ValueError: An unknown field, a bad value, or a name used twice.
    """
    base: dict[str, Any] = {}
    for item in common:
        base |= parse_overrides(item)
    variants = []
    for spec in specs or ["today:"]:
        name, sep, rest = spec.partition(":")
        if not sep or "=" in name:
            name, rest = spec, spec
        variants.append(Variant(name, base | parse_overrides(rest)))
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must differ: {names}")
    return variants


# --- one level ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Poll:
    at: float
    queued_finals: float
    queued_partials: float
    running: float
    degrade_level: float

    @property
    def idle(self) -> bool:
        return self.queued_finals + self.queued_partials + self.running == 0


@dataclass(frozen=True, slots=True)
class Spoken:
    """A truth utterance as one call spoke it (session audio time)."""

    call: int
    utterance: Utterance
    start_s: float
    end_s: float
    end_at: float  # wall time its last word ended


@dataclass(frozen=True, slots=True)
class Final:
    at: float  # arrival, wall time
    speaker: str
    start_s: float
    end_s: float
    words: tuple[tuple[float, str], ...]  # (mid time, text), session time


@dataclass
class Placed:
    """One call of a level: its track, where it starts, until when it streams."""

    index: int
    run: CallRun
    track: Track
    offset_frame: int
    delay_s: float
    until: float  # wall time of its last frame
    kept: bool  # streams on through the recovery

    def spoken(self) -> list[Spoken]:
        """Every truth utterance whose audio was (partly) streamed."""
        offset_s = self.track.frame_start_s[self.offset_frame]
        stop_s = self.until - self.run.started_at
        out = []
        loop = 0
        while loop * self.track.loop_s - offset_s < stop_s:
            shift = loop * self.track.loop_s - offset_s
            for u in self.track.utterances:
                start_s, end_s = u.start_s + shift, u.end_s + shift
                if end_s > 0 and start_s < stop_s:
                    end_at = self.run.started_at + end_s
                    out.append(Spoken(self.index, u, start_s, end_s, end_at))
            loop += 1
        return out

    def finals(self) -> list[Final]:
        """The non-empty finals the rep received, of both speakers."""
        out = []
        for at, m in self.run.rep.of("transcript"):
            if not m.get("final") or not m.get("text", "").strip():
                continue
            words = tuple(((w["start"] + w["end"]) / 2, w["w"]) for w in m.get("words", ()))
            if not words:  # no word times: the final's middle
                words = tuple(((m["start"] + m["end"]) / 2, w) for w in m["text"].split())
            out.append(Final(at, m["speaker"], m["start"], m["end"], words))
        return out


def match(spoken: Spoken, finals: list[Final]) -> Final | None:
    """The final of the speaker whose interval holds the utterance's end, give or take
    `MATCH_SLACK_S`, and overlaps the utterance (the next utterance's final, starting in
    the slack, is not this one's). Where two do (a long-speech cut near the end), the one
    with more of the utterance, then the nearer, then the first to arrive."""

    def distance(f: Final) -> float:
        return max(f.start_s - spoken.end_s, spoken.end_s - f.end_s, 0.0)

    def overlap(f: Final) -> float:
        return max(0.0, min(f.end_s, spoken.end_s) - max(f.start_s, spoken.start_s))

    near = [
        f
        for f in finals
        if f.speaker == spoken.utterance.speaker and distance(f) <= MATCH_SLACK_S and overlap(f) > 0
    ]
    return min(near, key=lambda f: (-overlap(f), distance(f), f.at), default=None)


async def poll_metrics(port: int, polls: list[Poll], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError, TimeoutError, ValueError, IndexError):
            _, body = await http_get(port, "/metrics")
            queued = metric_values(body, "sparring_asr_queued_jobs")
            polls.append(
                Poll(
                    time.time(),
                    queued.get('{kind="final"}', 0.0),
                    queued.get('{kind="partial"}', 0.0),
                    sum(metric_values(body, "sparring_asr_running_jobs").values()),
                    sum(metric_values(body, "sparring_asr_degrade_level").values()),
                )
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_S)


@dataclass
class Usage:
    """CPU seconds of the server and of this process, and the wall time, at one moment."""

    at: float
    server_s: float
    client_s: float

    @classmethod
    def now(cls, pid: int) -> Usage:
        times = os.times()
        return cls(time.time(), cpu_seconds(pid), times.user + times.system)


async def usage_between(pid: int, start: float, end: float) -> tuple[Usage, Usage]:
    await asyncio.sleep(max(0.0, start - time.time()))
    first = Usage.now(pid)
    await asyncio.sleep(max(0.0, end - time.time()))
    return first, Usage.now(pid)


@dataclass
class Level:
    """What one level recorded; `summary()` turns it into the figures of the table."""

    calls: int
    placed: list[Placed]
    t_stop: float  # wall time streaming stopped (all but the kept calls)
    warmup_s: float
    polls: list[Poll] = field(default_factory=list)
    lateness_s: list[float] = field(default_factory=list)
    usage: tuple[Usage, Usage] | None = None
    counters: dict[str, float] = field(default_factory=dict)
    flood: dict[str, Any] | None = None  # the call replayed far faster than real time

    def windows(self) -> tuple[list[Spoken], list[Spoken], list[list[Spoken]], list[list[Final]]]:
        """(measured utterances, recovery utterances, every spoken one per call, finals per
        call)."""
        measured, recovery, spoken_all, finals_all = [], [], [], []
        for p in self.placed:
            spoken = p.spoken()
            stop_s = self.t_stop - p.run.started_at
            measured += [
                s for s in spoken if s.start_s >= 0 and self.warmup_s <= s.end_s <= stop_s - TAIL_S
            ]
            if p.kept:
                last_s = p.until - p.run.started_at - TAIL_S
                recovery += [s for s in spoken if stop_s < s.end_s <= last_s]
            spoken_all.append(spoken)
            finals_all.append(p.finals())
        return measured, recovery, spoken_all, finals_all

    def delivered(self) -> bool:
        """Whether every measured and recovery utterance has its final."""
        measured, recovery, _, finals = self.windows()
        return all(match(s, finals[s.call]) is not None for s in measured + recovery)

    def summary(self, offline: dict[str, dict[int, str]]) -> dict[str, Any]:
        """The level's figures; `offline`: the offline text of each truth utterance."""
        measured, recovery, spoken_all, finals_all = self.windows()
        latencies, within, lost, drift = [], 0, 0, []
        used: dict[tuple[int, Final], int] = {}  # final -> measured utterances it ends
        rows = []
        for s in measured:
            final = match(s, finals_all[s.call])
            rows.append(self._utterance_row(s, final))
            if final is None:
                lost += 1
                continue
            latencies.append(final.at - s.end_at)
            within += final.at <= self.t_stop
            drift.append(final.end_s - s.end_s)
            used[s.call, final] = used.get((s.call, final), 0) + 1
        # From the end of the final's own last word: the pipeline without the utterances
        # that the VAD joined to the next one (their latency includes the rest of it).
        from_final_end = [f.at - (self.placed[call].run.started_at + f.end_s) for call, f in used]
        refs, streamed, offline_hyps = [], [], []
        scored = set(measured)
        for p, spoken, finals in zip(self.placed, spoken_all, finals_all, strict=True):
            for speaker in SPEAKERS:
                mine = [s for s in spoken if s.utterance.speaker == speaker]
                words = [w for f in finals if f.speaker == speaker for w in f.words]
                assigned = assign_words(words, [(s.start_s, s.end_s) for s in mine])
                for s, hyp in zip(mine, assigned, strict=True):
                    ref = normalise(s.utterance.text)
                    if s not in scored or not ref.split():
                        continue
                    refs.append(ref)
                    streamed.append(normalise(" ".join(hyp)))
                    offline_hyps.append(normalise(offline[p.track.name][s.utterance.index]))
        wer_stream = jiwer.wer(refs, streamed) if refs else float("nan")
        wer_offline = jiwer.wer(refs, offline_hyps) if refs else float("nan")
        assert self.usage is not None, "summary() of a level that did not run"
        first, last = self.usage
        wall = max(1e-9, last.at - first.at)
        cores = os.cpu_count() or 1
        main_polls = [p for p in self.polls if p.at <= self.t_stop]
        customer_finals = sum(1 for fs in finals_all for f in fs if f.speaker == "customer")
        return {
            "calls": self.calls,
            "error": None,
            "latency_s": {
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
                "p99": percentile(latencies, 99),
                "max": max(latencies, default=None),
            },
            "latencies_s": [round(x, 3) for x in latencies],
            "utterances": rows,
            "from_final_end_s": {
                "p50": percentile(from_final_end, 50),
                "p95": percentile(from_final_end, 95),
            },
            "finals_holding_several": sum(1 for n in used.values() if n > 1),
            "expected": len(measured),
            "within_call": within,
            "delivered": len(latencies),
            "lost": lost,
            "customer_finals_on_rep": customer_finals,
            "final_end_minus_truth_end_s_p50": percentile(drift, 50),
            "wer_stream": wer_stream,
            "wer_offline": wer_offline,
            "wer_ratio": wer_stream / wer_offline if wer_offline else float("nan"),
            "wer_words": sum(len(r.split()) for r in refs),
            "server_cpu_pct": 100 * (last.server_s - first.server_s) / wall / cores,
            "client_cpu_pct": 100 * (last.client_s - first.client_s) / wall / cores,
            "cpu_window_s": wall,
            "lateness_ms_p99": 1000 * (percentile(self.lateness_s, 99) or 0.0),
            "lateness_ms_max": 1000 * max(self.lateness_s, default=0.0),
            "frames": len(self.lateness_s),
            "counters": self.counters,
            "degrade_max": max((p.degrade_level for p in main_polls), default=None),
            "degrade_s": {  # seconds polled at each degrade level while all calls streamed
                f"{level:.0f}": POLL_S * sum(1 for p in main_polls if p.degrade_level == level)
                for level in sorted({p.degrade_level for p in main_polls})
            },
            "queued_finals_max": max((p.queued_finals for p in main_polls), default=None),
            "queued_partials_max": max((p.queued_partials for p in main_polls), default=None),
            "recovery": self._recovery(recovery, finals_all) if recovery else None,
            "flood": self.flood,
        }

    def _utterance_row(self, s: Spoken, final: Final | None) -> dict[str, Any]:
        """One measured utterance and its final, for the JSON."""
        row = {
            "call": s.call,
            "track": self.placed[s.call].track.name,
            "utterance": s.utterance.index,
            "speaker": s.utterance.speaker,
            "start_s": round(s.start_s, 3),
            "end_s": round(s.end_s, 3),
        }
        if final is not None:
            row |= {
                "latency_s": round(final.at - s.end_at, 3),
                "final_start_s": final.start_s,
                "final_end_s": final.end_s,
                "final_text": " ".join(w for _, w in final.words),
            }
        return row

    def _recovery(self, recovery: list[Spoken], finals_all: list[list[Final]]) -> dict[str, Any]:
        bins: dict[int, list[float | None]] = {}
        for s in recovery:
            final = match(s, finals_all[s.call])
            bins.setdefault(int((s.end_at - self.t_stop) // RECOVERY_BIN_S), []).append(
                None if final is None else final.at - s.end_at
            )
        rows = []
        for b in sorted(bins):
            got = [x for x in bins[b] if x is not None]
            queued = [
                p.queued_finals
                for p in self.polls
                if b * RECOVERY_BIN_S <= p.at - self.t_stop < (b + 1) * RECOVERY_BIN_S
            ]
            rows.append(
                {
                    "from_s": b * RECOVERY_BIN_S,
                    "n": len(bins[b]),
                    "lost": len(bins[b]) - len(got),
                    "p95_s": percentile(got, 95),
                    "queued_finals_max": max(queued, default=None),
                }
            )
        recovered_after = None
        for i, row in enumerate(rows):
            later = rows[i:]
            if all(r["lost"] == 0 and (r["p95_s"] or 0) < RECOVERED_BELOW_S for r in later):
                recovered_after = row["from_s"]
                break
        # The last poll before the drop counts: an empty queue there is empty at the drop.
        empty = [
            max(0.0, p.at - self.t_stop)
            for p in self.polls
            if p.at > self.t_stop - POLL_S and not p.queued_finals
        ]
        at_drop = [p.queued_finals for p in self.polls if p.at <= self.t_stop]
        return {
            "kept_calls": sum(p.kept for p in self.placed),
            "queued_finals_at_drop": at_drop[-1] if at_drop else None,
            "queue_empty_after_s": min(empty, default=None),
            "latency_recovered_after_s": recovered_after,
            "bins": rows,
        }


async def run_level(
    server: ServerProcess,
    n_calls: int,
    args: argparse.Namespace,
    tracks: dict[str, Track],
    recover: bool,
) -> Level:
    ws_url = f"ws://127.0.0.1:{server.port}/v1/live"
    rng = random.Random(f"{args.seed}:{n_calls}")  # the same load for every variant
    phase = {name: rng.random() for name in CALLS}
    names = [CALLS[i % len(CALLS)] for i in range(n_calls)]
    runs = [await open_call(ws_url, i, label="capacity") for i in range(n_calls)]
    t0 = time.time() + 0.5
    t_stop = t0 + START_SPREAD_S + args.seconds
    placed = []
    for i, (run, name) in enumerate(zip(runs, names, strict=True)):
        same = names.count(name)
        j = names[:i].count(name)
        n_frames = len(tracks[name].frames[0])
        kept = recover and i < args.recover_to
        placed.append(
            Placed(
                i,
                run,
                tracks[name],
                int((phase[name] + j / same) % 1.0 * n_frames),
                rng.uniform(0, START_SPREAD_S),
                t_stop + args.recover_s if kept else t_stop,
                kept,
            )
        )
    level = Level(n_calls, placed, t_stop, args.warmup_s)
    stop_polling = asyncio.Event()
    flood = await open_call(ws_url, n_calls, label="flood") if args.flood else None
    rss_samples: list[float] = []

    async def sample_rss() -> None:
        while not stop_polling.is_set():
            rss_samples.append(rss_mb(server.pid))
            await asyncio.sleep(1.0)

    async def call(p: Placed) -> None:
        await asyncio.sleep(max(0.0, t0 + p.delay_s - time.time()))
        await stream(
            p.run, p.track.frames, p.until, offset_frame=p.offset_frame, lateness_s=level.lateness_s
        )

    measure_from = min(t0 + START_SPREAD_S + args.warmup_s, t_stop - 1.0)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(
            poll_metrics(server.port, level.polls, stop_polling), name="capacity.metrics"
        )
        usage = tg.create_task(usage_between(server.pid, measure_from, t_stop), name="capacity.cpu")
        tg.create_task(sample_rss(), name="capacity.rss")
        streams = [
            tg.create_task(call(p), name=f"capacity[{i}].stream") for i, p in enumerate(placed)
        ]
        if flood is not None:
            pushy = tracks["pushy"].frames
            streams.append(
                tg.create_task(stream(flood, pushy, t_stop, speed=args.flood), name="flood")
            )
        await asyncio.gather(*streams)
        last_frame = time.time()
        while time.time() < last_frame + DRAIN_S and not level.delivered():
            idle = [p.idle for p in level.polls if p.at > last_frame]
            if len(idle) >= QUIET_POLLS and all(idle[-QUIET_POLLS:]):
                break
            await asyncio.sleep(POLL_S)
        stop_polling.set()
    level.usage = usage.result()
    if flood is not None:
        received = [m for _, m in flood.rep.received]
        level.flood = {
            "speed_x": args.flood,
            "audio_sent_s": flood.sent_s,
            "finals": sum(1 for m in received if m.get("type") == "transcript" and m.get("final")),
            "told_behind": sum(1 for m in received if m.get("code") == "transcript_behind"),
            "rss_mb_first": rss_samples[0] if rss_samples else None,
            "rss_mb_max": max(rss_samples, default=None),
        }
        with contextlib.suppress(Exception):
            await asyncio.wait_for(flood.rep.ws.close(), 5)
            await asyncio.wait_for(flood.customer.ws.close(), 5)
    _, body = await http_get(server.port, "/metrics")
    for labels, value in metric_values(body, "sparring_asr_jobs_total").items():
        level.counters[re.sub(r'^\{\w+="(.*)"\}$', r"\1", labels)] = value
    for name in ("jobs_submitted", "failures"):
        for value in metric_values(body, f"sparring_asr_{name}_total").values():
            level.counters[name] = value
    for p in placed:
        for conn in (p.run.rep, p.run.customer):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(), 5)
    return level


# --- the report ---------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None or value != value else format(value, spec)


def counters_text(counters: dict[str, float]) -> str:
    shown = [f"{k} {v:.0f}" for k, v in counters.items() if v or k == "completed"]
    return ", ".join(shown) or "-"


def row(s: dict[str, Any]) -> str:
    if s["error"]:
        return f"| {s['calls']} | failed: {s['error']} |"
    lat = s["latency_s"]
    return (
        f"| {s['calls']} | {fmt(lat['p50'])} / {fmt(lat['p95'])} / {fmt(lat['p99'])}"
        f" / {fmt(lat['max'])}"
        f" | {s['within_call']} / {s['delivered']} / {s['expected']} | {s['lost']}"
        f" | {fmt(s['wer_stream'], '.3f')} / {fmt(s['wer_offline'], '.3f')}"
        f" / {fmt(s['wer_ratio'])}"
        f" | {s['server_cpu_pct']:.0f} | {s['client_cpu_pct']:.0f} | {s['lateness_ms_p99']:.0f}"
        f" | {fmt(s['degrade_max'], '.0f')} / {fmt(s['queued_finals_max'], '.0f')}"
        f" | {counters_text(s['counters'])} |"
    )


def goals_text(s: dict[str, Any]) -> list[str]:
    lines = []
    ratio = s["wer_ratio"]
    lines.append(
        f"WER ratio {fmt(ratio)} <= {WER_GOAL}: {'met' if ratio <= WER_GOAL else 'NOT met'}"
    )
    if s["calls"] not in GOALS:
        return lines
    p95_limit, every_final, recovery_limit = GOALS[s["calls"]]
    if p95_limit is not None:
        p95 = s["latency_s"]["p95"]
        ok = p95 is not None and p95 <= p95_limit
        lines.append(f"p95 {fmt(p95)} s <= {p95_limit} s: {'met' if ok else 'NOT met'}")
    if every_final:
        lines.append(f"lost {s['lost']} == 0: {'met' if s['lost'] == 0 else 'NOT met'}")
    if recovery_limit is not None:
        rec = s["recovery"]
        after = None if rec is None else rec["latency_recovered_after_s"]
        ok = after is not None and after <= recovery_limit
        verdict = "met" if ok else "NOT met"
        lines.append(
            f"recovery {fmt(after, '.0f')} s <= {recovery_limit:.0f} s: {verdict}"
            + ("" if rec else " (no recovery phase run)")
        )
    return lines


def print_variant(variant: Variant, levels: list[dict[str, Any]], args: argparse.Namespace) -> None:
    overrides = ", ".join(f"{k}={v}" for k, v in variant.overrides.items()) or "none"
    print(
        f"\n### {variant.name} (model {args.model}; Config overrides: {overrides}; "
        f"{args.seconds:g} s per level, measured after {args.warmup_s:g} s)\n"
    )
    print(
        "| calls | final p50 / p95 / p99 / max s | finals within call / all / expected | lost"
        " | WER stream / offline / ratio | server CPU % | client CPU % | lateness p99 ms"
        " | degrade max / queued finals max | ASR jobs |"
    )
    print("| --- " * 10 + "|")
    for s in levels:
        print(row(s))
    print()
    for s in levels:
        if s["error"]:
            continue
        print(f"{s['calls']} calls: " + "; ".join(goals_text(s)))
        rec = s["recovery"]
        if rec:
            after = rec["latency_recovered_after_s"]
            print(
                f"  recovery: {s['calls']} -> {rec['kept_calls']} calls; queued finals "
                f"{fmt(rec['queued_finals_at_drop'], '.0f')} at the drop, first empty after "
                f"{fmt(rec['queue_empty_after_s'], '.1f')} s; p95 under {RECOVERED_BELOW_S:g} s "
                + (
                    f"from utterances ending {after:.0f} s after the drop on"
                    if after is not None
                    else f"NOT reached in {args.recover_s:g} s"
                )
            )
            print(
                f"  by {RECOVERY_BIN_S:g} s of utterance end after the drop (p95 s / n / lost /"
                " queued finals max): "
                + "  ".join(
                    f"{b['from_s']:.0f}: {fmt(b['p95_s'])}/{b['n']}/{b['lost']}/"
                    f"{fmt(b['queued_finals_max'], '.0f')}"
                    for b in rec["bins"]
                )
            )
        flood = s["flood"]
        if flood:
            print(
                f"  flood: one more call replayed at {flood['speed_x']:g}x real time"
                f" ({flood['audio_sent_s']:.0f} s of audio sent): {flood['finals']} finals,"
                f" told transcript_behind {flood['told_behind']} times; server RSS"
                f" {fmt(flood['rss_mb_first'], '.0f')} -> max {fmt(flood['rss_mb_max'], '.0f')} MB"
            )
        print(
            f"  from the end of the final's last word: p50 {fmt(s['from_final_end_s']['p50'])}"
            f" / p95 {fmt(s['from_final_end_s']['p95'])} s; {s['finals_holding_several']} finals"
            " hold the ends of several measured utterances"
        )
        print(
            f"  {s['customer_finals_on_rep']} customer finals on the rep's connection; "
            f"final end - truth end p50 {fmt(s['final_end_minus_truth_end_s_p50'])} s; "
            f"frames sent {s['frames']}, late max {s['lateness_ms_max']:.0f} ms; degrade level"
            f" (s at each): {', '.join(f'{k}: {v:.0f}' for k, v in s['degrade_s'].items())}; "
            f"{s['wer_words']} words scored; CPU over {s['cpu_window_s']:.0f} s"
        )


def print_side_by_side(variants: list[Variant], results: dict[str, list[dict[str, Any]]]) -> None:
    print("\n### side by side: final p95 s, finals all / expected, WER ratio, server CPU %\n")
    print("| calls | " + " | ".join(v.name for v in variants) + " |")
    print("| --- " * (len(variants) + 1) + "|")
    for i, first in enumerate(results[variants[0].name]):
        cells = []
        for v in variants:
            s = results[v.name][i]
            cells.append(
                "failed"
                if s["error"]
                else f"{fmt(s['latency_s']['p95'])} s, {s['delivered']} / {s['expected']},"
                f" {fmt(s['wer_ratio'])}, {s['server_cpu_pct']:.0f} %"
            )
        print(f"| {first['calls']} | " + " | ".join(cells) + " |")


# --- main ---------------------------------------------------------------------------------------


def parse_args() -> tuple[argparse.Namespace, list[Variant]]:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", help=f"levels, comma-separated (default {DEFAULTS['calls']})")
    parser.add_argument("--seconds", type=float, help="streaming per level (default 120)")
    parser.add_argument("--warmup-s", type=float, help="not measured at the start (default 20)")
    parser.add_argument("--recover-to", type=int, help="calls kept at the top level (default 16)")
    parser.add_argument("--recover-s", type=float, help="how long they stream on (default 60)")
    parser.add_argument("--quick", action="store_true", help="4 and 8 calls, 40 s: a smoke check")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--seed", type=int, default=1, help="offsets and start delays")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Config field, every variant",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help='a server setting to compare (repeatable; default one, "today", no overrides)',
    )
    parser.add_argument(
        "--flood",
        type=float,
        default=0.0,
        metavar="X",
        help="one more call replays 'pushy' at X times real time (e.g. 50, the audio cap)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the raw numbers here")
    parser.add_argument(
        "--server-log", type=Path, metavar="DIR", help="keep each server's log here"
    )
    args = parser.parse_args()
    for key, default in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    try:
        args.levels = sorted({int(n) for n in str(args.calls).split(",") if n.strip()})
        variants = parse_variants(args.variant, args.config)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.levels or min(args.levels) < 1:
        parser.error("--calls needs at least one level of 1 call or more")
    return args, variants


def main() -> int:
    args, variants = parse_args()
    tracks = load_tracks(CALLS)
    started = time.perf_counter()
    offline = offline_texts(args.model, tracks)
    took_s = time.perf_counter() - started
    print(
        f"offline transcribe() of {len(tracks) * 2} party tracks: "
        + (f"{took_s:.0f} s" if took_s > 1 else "cached"),
        flush=True,
    )
    results: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    top = max(args.levels)
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = args.server_log or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        # Level by level, each variant in turn: a busy spell of the machine hits every
        # variant of a level alike.
        for n_calls in args.levels:
            recover = n_calls == top and args.recover_to < n_calls and args.recover_s > 0
            for variant in variants:
                log_path = log_dir / f"server-{variant.name}-{n_calls}.log"
                summary: dict[str, Any]
                try:
                    with server_process(args.model, variant.overrides, log_path) as server:
                        level = asyncio.run(run_level(server, n_calls, args, tracks, recover))
                    summary = level.summary(offline)
                    print(
                        f"{variant.name}, {n_calls} calls: "
                        f"p50 {fmt(summary['latency_s']['p50'])} / "
                        f"p95 {fmt(summary['latency_s']['p95'])} s, {summary['delivered']} of "
                        f"{summary['expected']} finals, WER ratio {fmt(summary['wer_ratio'])}",
                        flush=True,
                    )
                except Exception as exc:  # one failed level (a crashed server) ends no run
                    tail = log_path.read_text()[-2000:] if log_path.exists() else ""
                    print(
                        f"{variant.name}, {n_calls} calls failed: {exc!r}\n{tail}", file=sys.stderr
                    )
                    summary = {"calls": n_calls, "error": repr(exc)}
                results[variant.name].append(summary)
    print(f"\n## bench_capacity: recognition under load, {args.model}, {os.cpu_count()} cores")
    for variant in variants:
        print_variant(variant, results[variant.name], args)
    if len(variants) > 1:
        print_side_by_side(variants, results)
    if args.json:
        raw = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "variants": {
                v.name: {"overrides": v.overrides, "levels": results[v.name]} for v in variants
            },
        }
        args.json.write_text(json.dumps(raw, indent=1))
        print(f"\nraw numbers: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
