"""The scorecard: the evaluation form applied to one call, with everyone's view of it.

Measured verdicts come from the call's report; the rep's self-reflection and the peers' and
trainer's ticks come as `Evaluation`s. Plain names, participants by name, times as m:ss,
targets beside values: what a rep reads after the call.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Verdict = Literal["good", "needs_work", "not_measured"]
VERDICTS: tuple[Verdict, ...] = ("good", "needs_work", "not_measured")
EvaluatorRole = Literal["rep", "observer", "trainer"]


class Evaluation(msgspec.Struct, frozen=True, kw_only=True):
    """One person's ticks on the form: the rep reflecting, or a peer or trainer evaluating.

    `skipped` records a rep who chose not to reflect (the scorecard is shown anyway).
    """

    by: str  # the person's name
    role: EvaluatorRole
    ticks: dict[str, Verdict] = {}  # criterion id -> verdict
    notes: dict[str, str] = {}  # criterion id -> a line of feedback
    skipped: bool = False
    at: float = 0.0  # wall time it was given


class Moment(msgspec.Struct, frozen=True, kw_only=True):
    """A point of the call a verdict rests on (click to jump in the transcript)."""

    at_s: float
    time: str  # m:ss
    what: str


class View(msgspec.Struct, frozen=True, kw_only=True):
    """A person's verdict on one criterion, attributed by name."""

    by: str
    role: EvaluatorRole
    verdict: Verdict
    note: str = ""


class CriterionCard(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    verdict: Verdict  # measured; "not_measured" for criteria only a person judges
    judged: bool  # only a person can judge it
    value: float | None = None
    value_text: str = ""  # "62%", "1:24", "3"
    target_text: str = ""  # "at most 60%"
    evidence: str = ""  # plain words: why this verdict
    moments: tuple[Moment, ...] = ()
    self_view: View | None = None
    peer_views: tuple[View, ...] = ()


class SectionCard(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    criteria: tuple[CriterionCard, ...]


class Scorecard(msgspec.Struct, frozen=True, kw_only=True):
    session: str
    title: str
    language: str
    rep: str  # names, not roles
    customer: str
    duration_s: float
    duration: str  # m:ss
    sections: tuple[SectionCard, ...]
    reflection: Literal["given", "skipped", "pending"] = "pending"
    evaluators: tuple[str, ...] = ()  # peers and trainers who ticked the form

    def criteria(self) -> list[CriterionCard]:
        return [c for section in self.sections for c in section.criteria]
