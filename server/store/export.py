"""A participant's own data as JSON (issue 10, item 8): what their role may see, no more.

Pure: builds bytes from calls already read. The report, views and scorecard are embedded
as the JSON they were stored as, not re-encoded.
"""

from __future__ import annotations

import msgspec

from models.records import (
    CallMeasures,
    CriterionVerdict,
    ParticipantName,
    Rep,
    StoredCall,
)
from models.report import ConsentRecord
from models.scorecard import Evaluation
from models.wire import Role

NULL = msgspec.Raw(b"null")


class ExportedCall(msgspec.Struct, frozen=True, kw_only=True):
    session: str
    title: str
    language: str
    created_at: float
    ended_at: float | None
    duration_audio_s: float
    participants: tuple[ParticipantName, ...]
    consent: tuple[ConsentRecord, ...]
    report: msgspec.Raw  # as this role may read it
    scorecard: msgspec.Raw = NULL
    measures: CallMeasures | None = None
    verdicts: tuple[CriterionVerdict, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()


class Export(msgspec.Struct, frozen=True, kw_only=True):
    exported_at: float  # Unix time
    role: Role
    rep: Rep | None
    calls: tuple[ExportedCall, ...]


def _raw(blob: bytes | None) -> msgspec.Raw:
    return NULL if not blob else msgspec.Raw(blob)


def _call(c: StoredCall, role: Role) -> ExportedCall:
    evaluations = tuple(
        e
        for e in c.evaluations
        # The rep reads every evaluation of their call; an observer those made as observer.
        if role is Role.REP or e.role == role.value
    )
    rep = role is Role.REP
    view = c.report if rep else c.customer_view if role is Role.CUSTOMER else c.observer_view
    return ExportedCall(
        session=c.session,
        title=c.title,
        language=c.language,
        created_at=c.created_at,
        ended_at=c.ended_at,
        duration_audio_s=c.duration_audio_s,
        participants=c.participants,
        consent=c.consent,
        report=_raw(view),
        # The coaching is the rep's alone (issue 10, item 8).
        scorecard=_raw(c.scorecard) if rep else NULL,
        measures=c.measures if rep else None,
        verdicts=c.verdicts if rep else (),
        evaluations=evaluations,
    )


def for_role(calls: list[StoredCall], role: Role, at: float, rep: Rep | None = None) -> bytes:
    """The export of `calls` as `role` may read them, as JSON bytes."""
    return msgspec.json.encode(
        Export(exported_at=at, role=role, rep=rep, calls=tuple(_call(c, role) for c in calls))
    )
