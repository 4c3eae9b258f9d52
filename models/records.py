"""What the store keeps of a call, a group and a rep, and what its history queries answer.

Reports and scorecards travel as opaque JSON bytes (their makers own their shape);
evaluations are `models.scorecard.Evaluation`; only the figures that trends and rankings
query are typed here. Never audio.
"""

from __future__ import annotations

import msgspec

from models.report import ConsentRecord
from models.scorecard import Evaluation, Verdict
from models.wire import Role, RoleTokens


class CallMeasures(msgspec.Struct, frozen=True, kw_only=True):
    """The key figures of one call that trends are drawn from."""

    talk_share_rep: float  # 0..1
    longest_monologue_s: float
    questions_open: int
    questions_closed: int
    interruptions: int
    nudges_by_rule: dict[str, int] = {}


class CriterionVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """A scorecard's verdict on one criterion, kept per call for recurring issues and rankings."""

    criterion: str  # the form's criterion id
    verdict: Verdict


class ParticipantName(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    name: str


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A call as it is stored when it ends; the scorecard comes later (`Store.save_scorecard`).

    `report` is the whole report (what the rep reads); `customer_view` and `observer_view`
    are what those roles may read, as the core's audience policy made them at the end.
    The join tokens are kept only as hashes: they let a participant erase or export later.
    """

    session: str
    node: str
    title: str
    language: str
    playbook: str
    created_at: float  # Unix time
    ended_at: float | None
    duration_audio_s: float
    rep_id: str | None = None
    group_id: str | None = None  # None with a rep: the rep's group
    participants: tuple[ParticipantName, ...] = ()
    tokens: RoleTokens
    report: bytes
    customer_view: bytes | None = None
    observer_view: bytes | None = None
    consent: tuple[ConsentRecord, ...] = ()
    measures: CallMeasures | None = None


class StoredCall(msgspec.Struct, frozen=True, kw_only=True):
    """A call as read back: None for what was not (or is no longer) written."""

    session: str
    node: str
    title: str
    language: str
    playbook: str
    created_at: float
    ended_at: float | None
    duration_audio_s: float
    rep_id: str | None
    group_id: str | None
    participants: tuple[ParticipantName, ...]
    report: bytes | None
    customer_view: bytes | None
    observer_view: bytes | None
    scorecard: bytes | None
    consent: tuple[ConsentRecord, ...]
    measures: CallMeasures | None
    verdicts: tuple[CriterionVerdict, ...]
    evaluations: tuple[Evaluation, ...]
    erased_at: float | None = None
    erased_by: Role | None = None
    shared_at: float | None = None  # the rep let the customer read the whole report


class HistoryRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a history: enough for "the last calls side by side" and trends."""

    session: str
    title: str
    created_at: float
    duration_audio_s: float
    rep_id: str | None
    scored: bool
    measures: CallMeasures | None


class Group(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    created_at: float


class Rep(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    group_id: str
    name: str
    created_at: float


class NewRep(msgspec.Struct, frozen=True, kw_only=True):
    """A rep just created, with the one copy of their long-lived token (only its hash is kept)."""

    rep: Rep
    token: str


class RecurringIssue(msgspec.Struct, frozen=True, kw_only=True):
    """A criterion a rep keeps missing: needs work in `missed` of their last `of_calls` calls."""

    criterion: str
    missed: int
    of_calls: int
    sessions: tuple[str, ...]  # newest first


class MissedCriterion(msgspec.Struct, frozen=True, kw_only=True):
    """A group's ranking row: how often a criterion needed work, in how many reps' calls."""

    criterion: str
    missed: int  # calls where it needed work
    judged: int  # calls where it was measured or ticked at all
    reps: int  # distinct reps who missed it


class ErasureProof(msgspec.Struct, frozen=True, kw_only=True):
    """What is kept of an erased call: that it was erased, when and by which role."""

    session: str
    erased_at: float
    erased_by: Role
