"""The evaluation form: the trainer's criteria, grouped in sections, part of the playbook.

Each criterion names what decides it: a metric with a target, a rule that may fire at most
N times, a checklist item, a step of the conversation's structure, or nothing — then only a
person (the rep reflecting, a peer, the trainer) can judge it. Schema and validation only;
`server/core/scorecard.py` applies it to a call's report.
"""

from __future__ import annotations

import re
from enum import StrEnum

import msgspec

from models.texts import Texts


class Metric(StrEnum):
    """Figures of a call a criterion can hold against a target (see scorecard.measure)."""

    REP_TALK_SHARE = "rep_talk_share"  # 0..1 of all speech time
    LONGEST_MONOLOGUE_S = "longest_monologue_s"
    INTERRUPTIONS = "interruptions"  # the rep cutting in
    MEAN_RESPONSE_GAP_S = "mean_response_gap_s"
    OPEN_QUESTIONS = "open_questions"
    OPEN_QUESTION_SHARE = "open_question_share"  # open of all the rep's questions
    WHY_QUESTIONS = "why_questions"
    QUESTIONS_PER_10_MIN = "questions_per_10_min"
    SUMMARIES = "summaries"
    FOLLOW_UPS = "follow_ups"
    WPM = "wpm"
    FILLER_SHARE = "filler_share"  # of the rep's words


class Step(StrEnum):
    """Steps of the conversation's structure (gespreksstructuur) the analysis recognises."""

    OPENING = "opening"  # purpose or agenda stated early
    CLOSING_SUMMARY = "closing_summary"
    NEXT_STEP = "next_step"


_ID = re.compile(r"[a-z0-9_]{1,40}")


class Criterion(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One line of the form. Exactly one of metric, rule, checklist or step decides it
    when measured; with none of them, only a person judges it."""

    id: str
    label: Texts
    hint: Texts | None = None  # what a person looks for, shown beside the tick boxes
    metric: Metric | None = None
    min: float | None = None
    max: float | None = None
    rule: str | None = None  # a rule of [rules]: good while it fired at most max_fires times
    max_fires: int = 0
    checklist: str | None = None  # a [[checklist]] id: good when it was covered
    step: Step | None = None

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"criterion id must be lowercase letters, digits or _, got {self.id!r}")
        deciders = [d for d in (self.metric, self.rule, self.checklist, self.step) if d is not None]
        if len(deciders) > 1:
            raise ValueError("a criterion is decided by one of metric, rule, checklist or step")
        if self.metric is not None and self.min is None and self.max is None:
            raise ValueError(f"metric {self.metric.value} needs a target: min or max")
        if self.metric is None and (self.min is not None or self.max is not None):
            raise ValueError("min and max are targets of a metric: name the metric")
        if self.max_fires < 0:
            raise ValueError("max_fires must be >= 0")

    @property
    def judged(self) -> bool:
        """Only a person can decide it: nothing measured names it."""
        return self.metric is None and self.rule is None and self.checklist is None and (
            self.step is None
        )


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A part of the form: structure, balance, questions, LSD, voice, topics, or the trainer's own."""

    id: str
    title: Texts
    criteria: tuple[Criterion, ...]

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"section id must be lowercase letters, digits or _, got {self.id!r}")
        if not self.criteria:
            raise ValueError("a section needs at least one criterion")
