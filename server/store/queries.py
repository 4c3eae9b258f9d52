"""The store's SQL: inserts, reads and the history queries, portable to both databases.

Called inside the store's transaction, with its lock held; raises driver errors as they
come (the store translates them). Placeholders are `?`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import msgspec

from models.records import (
    CallMeasures,
    CallRecord,
    CriterionVerdict,
    HistoryRow,
    MissedCriterion,
    ParticipantName,
    RecurringIssue,
    Rep,
    StoredCall,
)
from models.report import ConsentRecord
from models.scorecard import Evaluation
from models.wire import Role
from server.store.dialect import Dialect, Row
from server.store.tokens import token_hash

REP_COLUMNS = "id, group_id, name, created_at"

_participants = msgspec.json.Decoder(tuple[ParticipantName, ...])
_evaluation = msgspec.json.Decoder(Evaluation)
NEEDS_WORK = "needs_work"
NOT_MEASURED = "not_measured"


def evaluator_key(e: Evaluation) -> str:
    """What makes an evaluator unique in a call: the rep once, each peer or trainer by name."""
    if e.role == "rep":
        return "self"
    return f"{e.role}:{' '.join(e.by.split()).casefold()}"


def insert_evaluation(db: Dialect, session: str, e: Evaluation) -> None:
    db.execute(
        "INSERT INTO evaluations (call_id, evaluator, role, name, skipped, body, submitted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session, evaluator_key(e), e.role, e.by, int(e.skipped), msgspec.json.encode(e), e.at),
    )


def rep_from_row(row: Row) -> Rep:
    return Rep(id=row[0], group_id=row[1], name=row[2], created_at=row[3])


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def insert_call(db: Dialect, r: CallRecord, group_id: str | None) -> None:
    db.execute(
        "INSERT INTO calls (id, node, title, language, playbook, created_at, ended_at,"
        " duration_audio_s, rep_id, group_id, participants, report, customer_view,"
        " observer_view) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.session,
            r.node,
            r.title,
            r.language,
            r.playbook,
            r.created_at,
            r.ended_at,
            r.duration_audio_s,
            r.rep_id,
            group_id,
            msgspec.json.encode(r.participants).decode(),
            r.report,
            r.customer_view,
            r.observer_view,
        ),
    )
    for role, token in (
        (Role.REP, r.tokens.rep),
        (Role.CUSTOMER, r.tokens.customer),
        (Role.OBSERVER, r.tokens.observer),
    ):
        db.execute(
            "INSERT INTO call_tokens (token_sha256, call_id, role) VALUES (?, ?, ?)",
            (token_hash(token), r.session, role.value),
        )
    for seq, c in enumerate(r.consent):
        _insert_consent(db, r.session, seq, c)
    if r.measures is not None:
        m = r.measures
        db.execute(
            "INSERT INTO measures (call_id, talk_share_rep, longest_monologue_s,"
            " questions_open, questions_closed, interruptions) VALUES (?, ?, ?, ?, ?, ?)",
            (
                r.session,
                m.talk_share_rep,
                m.longest_monologue_s,
                m.questions_open,
                m.questions_closed,
                m.interruptions,
            ),
        )
        for rule, n in sorted(m.nudges_by_rule.items()):
            db.execute(
                "INSERT INTO nudge_counts (call_id, rule, n) VALUES (?, ?, ?)",
                (r.session, rule, n),
            )


def _insert_consent(db: Dialect, session: str, seq: int, c: ConsentRecord) -> None:
    db.execute(
        "INSERT INTO consent (call_id, seq, participant, role, name, granted, scopes,"
        " on_behalf_of, given_by, audio_time_s, wall_time, erase, declared)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session,
            seq,
            c.participant,
            c.role.value,
            c.name,
            int(c.granted),
            " ".join(c.scopes),
            c.on_behalf_of,
            c.given_by,
            c.audio_time_s,
            c.wall_time,
            int(c.erase),
            int(c.declared),
        ),
    )


def erase(db: Dialect, session: str, by: Role, at: float) -> None:
    """Keeps the call's id, node, times and token hashes (so that a later request answers
    "erased", not "unknown"), and one consent row that says who erased it and when.
    """
    for table in ("consent", "measures", "nudge_counts", "verdicts", "evaluations"):
        db.execute(f"DELETE FROM {table} WHERE call_id = ?", (session,))
    db.execute(
        "UPDATE calls SET title = '', participants = '[]', rep_id = NULL, group_id = NULL,"
        " report = NULL, customer_view = NULL, observer_view = NULL, scorecard = NULL,"
        " scored_at = NULL, erased_at = ?, erased_by = ? WHERE id = ?",
        (at, by.value, session),
    )
    _insert_consent(
        db,
        session,
        0,
        ConsentRecord(
            participant="",
            role=by,
            name="",
            granted=False,
            scopes=(),
            on_behalf_of=None,
            given_by=by.value,
            audio_time_s=0.0,
            wall_time=at,
            erase=True,
        ),
    )


def _measures(db: Dialect, ids: list[str]) -> dict[str, CallMeasures]:
    if not ids:
        return {}
    nudges: dict[str, dict[str, int]] = defaultdict(dict)
    for call_id, rule, n in db.execute(
        f"SELECT call_id, rule, n FROM nudge_counts WHERE call_id IN ({_marks(len(ids))})", ids
    ).fetchall():
        nudges[call_id][rule] = n
    return {
        row[0]: CallMeasures(
            talk_share_rep=row[1],
            longest_monologue_s=row[2],
            questions_open=row[3],
            questions_closed=row[4],
            interruptions=row[5],
            nudges_by_rule=nudges[row[0]],
        )
        for row in db.execute(
            "SELECT call_id, talk_share_rep, longest_monologue_s, questions_open,"
            f" questions_closed, interruptions FROM measures WHERE call_id IN ({_marks(len(ids))})",
            ids,
        ).fetchall()
    }


def read_call(db: Dialect, session: str) -> StoredCall:
    row = db.execute(
        "SELECT id, node, title, language, playbook, created_at, ended_at, duration_audio_s,"
        " rep_id, group_id, participants, report, customer_view, observer_view, scorecard,"
        " erased_at, erased_by, shared_at FROM calls WHERE id = ?",
        (session,),
    ).fetchone()
    assert row is not None, "the caller checked that the call exists"
    consent = tuple(
        ConsentRecord(
            participant=c[0],
            role=Role(c[1]),
            name=c[2],
            granted=bool(c[3]),
            scopes=tuple(c[4].split()),
            on_behalf_of=c[5],
            given_by=c[6],
            audio_time_s=c[7],
            wall_time=c[8],
            erase=bool(c[9]),
            declared=bool(c[10]),
        )
        for c in db.execute(
            "SELECT participant, role, name, granted, scopes, on_behalf_of, given_by,"
            " audio_time_s, wall_time, erase, declared FROM consent WHERE call_id = ?"
            " ORDER BY seq",
            (session,),
        ).fetchall()
    )
    verdicts = tuple(
        CriterionVerdict(criterion=v[0], verdict=v[1])
        for v in db.execute(
            "SELECT criterion, verdict FROM verdicts WHERE call_id = ? ORDER BY criterion",
            (session,),
        ).fetchall()
    )
    evaluations = tuple(
        _evaluation.decode(bytes(e[0]))
        for e in db.execute(
            "SELECT body FROM evaluations WHERE call_id = ? ORDER BY submitted_at, evaluator",
            (session,),
        ).fetchall()
    )
    return StoredCall(
        session=row[0],
        node=row[1],
        title=row[2],
        language=row[3],
        playbook=row[4],
        created_at=row[5],
        ended_at=row[6],
        duration_audio_s=row[7],
        rep_id=row[8],
        group_id=row[9],
        participants=_participants.decode(row[10]),
        report=_bytes(row[11]),
        customer_view=_bytes(row[12]),
        observer_view=_bytes(row[13]),
        scorecard=_bytes(row[14]),
        consent=consent,
        measures=_measures(db, [session]).get(session),
        verdicts=verdicts,
        evaluations=evaluations,
        erased_at=row[15],
        erased_by=Role(row[16]) if row[16] else None,
        shared_at=row[17],
    )


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)  # PostgreSQL may hand back a memoryview


def summaries(db: Dialect, column: str, key: str, limit: int | None) -> list[HistoryRow]:
    """The calls whose `column` (rep_id or group_id) is `key`, newest first."""
    assert column in ("rep_id", "group_id")
    sql = (
        "SELECT id, title, created_at, duration_audio_s, rep_id, scored_at FROM calls"
        f" WHERE {column} = ? AND erased_at IS NULL ORDER BY created_at DESC, id DESC"
    )
    params: list[Any] = [key]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = db.execute(sql, params).fetchall()
    measures = _measures(db, [r[0] for r in rows])
    return [
        HistoryRow(
            session=r[0],
            title=r[1],
            created_at=r[2],
            duration_audio_s=r[3],
            rep_id=r[4],
            scored=r[5] is not None,
            measures=measures.get(r[0]),
        )
        for r in rows
    ]


def recurring(db: Dialect, rep_id: str, last_calls: int, min_missed: int) -> list[RecurringIssue]:
    rows = db.execute(
        "WITH recent AS ("
        " SELECT id, created_at FROM calls"
        " WHERE rep_id = ? AND erased_at IS NULL AND scored_at IS NOT NULL"
        " ORDER BY created_at DESC, id DESC LIMIT ?)"
        " SELECT v.criterion, v.call_id FROM verdicts v JOIN recent r ON r.id = v.call_id"
        " WHERE v.verdict = ? ORDER BY r.created_at DESC, r.id DESC",
        (rep_id, last_calls, NEEDS_WORK),
    ).fetchall()
    of_calls = db.execute(
        "SELECT COUNT(*) FROM (SELECT id FROM calls"
        " WHERE rep_id = ? AND erased_at IS NULL AND scored_at IS NOT NULL"
        " ORDER BY created_at DESC LIMIT ?) AS recent",
        (rep_id, last_calls),
    ).fetchone()
    assert of_calls is not None
    sessions: dict[str, list[str]] = defaultdict(list)
    for criterion, call_id in rows:
        sessions[criterion].append(call_id)
    issues = [
        RecurringIssue(criterion=c, missed=len(ids), of_calls=of_calls[0], sessions=tuple(ids))
        for c, ids in sessions.items()
        if len(ids) >= min_missed
    ]
    return sorted(issues, key=lambda i: (-i.missed, i.criterion))


def group_missed(db: Dialect, group_id: str, since: float | None) -> list[MissedCriterion]:
    needs_work = NEEDS_WORK
    rows = db.execute(
        "SELECT v.criterion,"
        " SUM(CASE WHEN v.verdict = ? THEN 1 ELSE 0 END) AS missed,"
        " SUM(CASE WHEN v.verdict <> ? THEN 1 ELSE 0 END) AS judged,"
        " COUNT(DISTINCT CASE WHEN v.verdict = ? THEN c.rep_id END) AS reps"
        " FROM verdicts v JOIN calls c ON c.id = v.call_id"
        " WHERE c.group_id = ? AND c.erased_at IS NULL AND c.created_at >= ?"
        " GROUP BY v.criterion"
        " HAVING SUM(CASE WHEN v.verdict = ? THEN 1 ELSE 0 END) > 0"
        " ORDER BY missed DESC, reps DESC, v.criterion",
        (
            needs_work,
            NOT_MEASURED,
            needs_work,
            group_id,
            since if since is not None else float("-inf"),
            needs_work,
        ),
    ).fetchall()
    return [
        MissedCriterion(criterion=r[0], missed=int(r[1]), judged=int(r[2]), reps=int(r[3]))
        for r in rows
    ]
