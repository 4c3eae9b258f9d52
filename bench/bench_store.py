#!/usr/bin/env python
"""The store: time to store a 30-minute call and its scorecard, and the history queries
with 1,000 calls in one group, on SQLite and on PostgreSQL.

The report is synthesized at a 30-minute call's size (about 375 final transcript segments
with word timings, nudges, interruptions, gaps, the consent ledger); the scorecard has 30
criteria with evidence and moments. History: 10 reps x 100 calls, all scored (30 verdicts
each), every call carrying the same full-size report, so tables are as big as real ones.

    .venv/bin/python bench/bench_store.py                   # SQLite in a temp dir + local PostgreSQL
    .venv/bin/python bench/bench_store.py --db postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/bench_store.py --no-postgres --rounds 200
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from models.playbook import default_playbook  # noqa: E402
from models.records import (  # noqa: E402
    CallMeasures,
    CallRecord,
    CriterionVerdict,
    ParticipantName,
)
from models.report import ConsentRecord, InterruptionRecord, SessionReport  # noqa: E402
from models.wire import Nudge, Role, RoleTokens, Severity, TalkShare, Transcript, Word  # noqa: E402
from server.core.scorecard import build_scorecard  # noqa: E402
from server.store import Store, measures_from_report  # noqa: E402

CALL_S = 30 * 60
WORDS_PER_SEGMENT = 12  # ~4.5 s of speech at 160 words a minute
CRITERIA = [f"criterion_{i:02d}" for i in range(30)]
VOCABULARY = "so what would you like to see from the pilot and who else decides on budget".split()


def synthetic_report(rng: random.Random, session: str) -> SessionReport:
    transcript = []
    t = 0.0
    segment = 0
    while t < CALL_S - 10:
        speaker = "rep" if segment % 2 == 0 else "customer"
        words = []
        for _ in range(WORDS_PER_SEGMENT):
            d = rng.uniform(0.2, 0.45)
            words.append(Word(w=rng.choice(VOCABULARY), start=round(t, 2), end=round(t + d, 2)))
            t += d
        transcript.append(
            Transcript(
                speaker=speaker,
                segment=segment,
                text=" ".join(w.w for w in words),
                final=True,
                start=words[0].start,
                end=words[-1].end,
                words=tuple(words),
                question=rng.choice([None, None, "open", "closed"]) if speaker == "rep" else None,
                session=session,
            )
        )
        t += rng.uniform(0.3, 1.2)
        segment += 1
    nudges = tuple(
        Nudge(
            id=f"n{i}",
            rule=rng.choice(["talk_ratio", "monologue", "interruption", "dead_air"]),
            text="Let the customer speak",
            severity=Severity.WARN,
            at=rng.uniform(60, CALL_S),
            evidence={"share": 0.71},
            session=session,
        )
        for i in range(20)
    )
    consent = tuple(
        ConsentRecord(
            participant=f"p{i}",
            role=role,
            name=name,
            granted=True,
            scopes=("coaching", "transcript", "trainer_view"),
            on_behalf_of=None,
            given_by=name,
            audio_time_s=float(i),
            wall_time=1.75e9 + i,
        )
        for i, (role, name) in enumerate([(Role.REP, "Anna"), (Role.CUSTOMER, "Bob")])
    )
    return SessionReport(
        session=session,
        title="Discovery call",
        language="en",
        status="ended",
        duration_s=CALL_S,
        talk=TalkShare(rep=0.58, customer=0.42),
        rep_speech_s=700.0,
        customer_speech_s=510.0,
        longest_monologue_s=74.2,
        interruptions=tuple(
            InterruptionRecord(at_s=rng.uniform(0, CALL_S), overlap_s=0.8) for _ in range(15)
        ),
        overlaps=31,
        response_gaps_s=tuple(round(rng.uniform(0.1, 2.0), 2) for _ in range(200)),
        mean_response_gap_s=0.9,
        nudges=nudges,
        transcript=tuple(transcript),
        consent=consent,
        dropped_before_consent_s=2.0,
    )


def synthetic_scorecard(rng: random.Random) -> tuple[bytes, list[CriterionVerdict]]:
    verdicts = [
        CriterionVerdict(
            criterion=c,
            verdict=rng.choice(["good", "needs_work", "not_measured"]),
        )
        for c in CRITERIA
    ]
    doc = {
        "criteria": [
            {
                "id": v.criterion,
                "label": v.criterion.replace("_", " ").title(),
                "verdict": v.verdict,
                "value": "58%",
                "target": "at most 60%",
                "evidence": "Talk share over the whole call, against the playbook's target.",
                "moments": [round(rng.uniform(0, CALL_S), 1) for _ in range(5)],
            }
            for v in verdicts
        ]
    }
    return msgspec.json.encode(doc), verdicts


def record(session: str, report: bytes, measures: CallMeasures, rep_id: str | None, at: float):
    return CallRecord(
        session=session,
        node="",
        title="Discovery call",
        language="en",
        playbook="default",
        created_at=at,
        ended_at=at + CALL_S,
        duration_audio_s=CALL_S,
        rep_id=rep_id,
        participants=(
            ParticipantName(role=Role.REP, name="Anna"),
            ParticipantName(role=Role.CUSTOMER, name="Bob"),
        ),
        tokens=RoleTokens(
            rep=secrets.token_urlsafe(24),
            customer=secrets.token_urlsafe(24),
            observer=secrets.token_urlsafe(24),
        ),
        report=report,
        customer_view=report[: len(report) // 2],
        observer_view=b'{"withheld":"ledger"}',
        measures=measures,
    )


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (
        f"  {name:<34} median {statistics.median(ms):7.2f} ms   p99 {p99:7.2f} ms   (n={len(ms)})"
    )


def bench(store: Store, rounds: int, history_calls: int, reps: int) -> None:
    rng = random.Random(1)
    report_struct = synthetic_report(rng, "bench")
    report = msgspec.json.encode(report_struct)
    measures = measures_from_report(report_struct)
    scorecard, verdicts = synthetic_scorecard(rng)
    print(
        f"  report {len(report) / 1024:.0f} KiB ({len(report_struct.transcript)} segments),"
        f" scorecard {len(scorecard) / 1024:.1f} KiB, {len(verdicts)} verdicts"
    )

    at = [1.75e9]

    def next_session() -> str:
        at[0] += 1
        return f"s{secrets.token_hex(6)}"

    saves, scores = [], []
    for _ in range(rounds):
        sid = next_session()
        saves += timed(
            lambda sid=sid: store.save_call(record(sid, report, measures, None, at[0])), 1
        )
        scores += timed(lambda sid=sid: store.save_scorecard(sid, scorecard, verdicts), 1)
    form = default_playbook().form
    builds = timed(
        lambda: msgspec.json.encode(
            build_scorecard(report_struct, form, rep="Anna", customer="Bram")
        ),
        rounds,
    )
    print(summary("build_scorecard (default form, 30-min report)", builds))
    print(summary("save_call (30-min report)", saves))
    print(summary("save_scorecard (30 verdicts)", scores))

    group = store.create_group("Bench group")
    rep_ids = [store.create_rep(group.id, f"Rep {i}").rep.id for i in range(reps)]
    start = time.perf_counter()
    for i in range(history_calls):
        sid = next_session()
        store.save_call(record(sid, report, measures, rep_ids[i % reps], at[0]))
        _, v = synthetic_scorecard(rng)
        store.save_scorecard(sid, scorecard, v)
    print(f"  seeded {history_calls} calls for one group in {time.perf_counter() - start:.1f} s")

    rep = rep_ids[0]
    n = max(rounds, 50)
    last = timed(lambda: store.rep_calls(rep, 10), n)
    recurring = timed(lambda: store.recurring_issues(rep), n)
    trends = timed(lambda: store.rep_calls(rep, 50), n)
    page = timed(
        lambda: (store.rep_calls(rep, 10), store.recurring_issues(rep), store.rep_calls(rep, 50)), n
    )
    group_calls = timed(lambda: store.group_calls(group.id, 50), n)
    ranking = timed(lambda: store.group_missed(group.id), n)
    print(summary("last 10 calls of a rep", last))
    print(summary("recurring issues (3 of last 5)", recurring))
    print(summary("trends (last 50 calls, measures)", trends))
    print(summary("rep history page (all three)", page))
    print(summary("group: last 50 calls", group_calls))
    print(summary("group: most-missed ranking", ranking))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--db",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server; the bench makes its own database there and drops it",
    )
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--calls", type=int, default=1000, help="calls in the group's history")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        print(f"SQLite ({data_dir})")
        store = Store.open(data_dir)
        try:
            bench(store, args.rounds, args.calls, args.reps)
        finally:
            store.close()

    if args.no_postgres:
        return
    import psycopg

    name = f"sparring_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.db, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = args.db.rsplit("/", 1)[0] + "/" + name
            print(f"PostgreSQL ({url})")
            store = Store.open(url)
            try:
                bench(store, args.rounds, args.calls, args.reps)
            finally:
                store.close()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
