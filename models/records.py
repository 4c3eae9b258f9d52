"""What the store keeps of a call, a group and a rep, and what its history queries answer.

Reports, scorecards and evaluation forms travel as opaque JSON bytes (their makers own
their shape); only the figures that trends and rankings query are typed here. Never audio.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from models.errors import Forbidden
from models.report import ConsentRecord
from models.wire import Role, RoleTokens


class Verdict(StrEnum):
    """A scorecard's judgement of one criterion (issue 10, item 2)."""

    GOOD = "good"
    NEEDS_WORK = "needs_work"
    NOT_MEASURED = "not_measured"


class EvaluationKind(StrEnum):
    SELF = "self"  # the rep's self-reflection
    PEER = "peer"  # a colleague, with the call's observer token
    TRAINER = "trainer"  # signed in with the trainer key


# Who may submit which kind: a customer evaluates nobody.
EVALUATOR_ROLE = {
    EvaluationKind.SELF: Role.REP,
    EvaluationKind.PEER: Role.OBSERVER,
    EvaluationKind.TRAINER: Role.TRAINER,
}


class CallMeasures(msgspec.Struct, frozen=True, kw_only=True):
    """The key figures of one call that trends are drawn from."""

    talk_share_rep: float  # 0..1
    longest_monologue_s: float
    questions_open: int
    questions_closed: int
    interruptions: int
    nudges_by_rule: dict[str, int] = {}


class CriterionVerdict(msgspec.Struct, frozen=True, kw_only=True):
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


class Evaluation(msgspec.Struct, frozen=True, kw_only=True):
    """One person's evaluation of a call: ticks and feedback as the form's JSON (`body`).

    A self-reflection may be skipped: `skipped` is recorded and `body` is empty.

    Raises:
        Forbidden: a kind that the evaluator's role may not submit (a customer, say).
    """

    kind: EvaluationKind
    role: Role
    name: str
    submitted_at: float  # Unix time
    body: bytes = b""
    skipped: bool = False

    def __post_init__(self) -> None:
        if EVALUATOR_ROLE[self.kind] is not self.role:
            raise Forbidden(f"a {self.role.value} may not submit a {self.kind.value} evaluation")

    @property
    def evaluator_key(self) -> str:
        """What makes an evaluator unique in a call: the rep once, each peer or trainer by name."""
        if self.kind is EvaluationKind.SELF:
            return "self"
        return f"{self.kind.value}:{self.name.strip().casefold()}"


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


class CallSummary(msgspec.Struct, frozen=True, kw_only=True):
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
