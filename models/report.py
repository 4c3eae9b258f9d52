"""The session report: what a rep and trainer go through after a practice call."""

from __future__ import annotations

import msgspec

from models.scorecard import Scorecard
from models.wire import (
    AudioCheck,
    ChecklistEntry,
    Nudge,
    QuestionCounts,
    Role,
    TalkShare,
    Transcript,
)


class Absence(msgspec.Struct, frozen=True, kw_only=True):
    """A party's connection dropped during the call, in session audio time.

    `to_s` is when they came back within the rejoin grace; None: they did not, and the
    call paused (or ended) as if they had left.
    """

    role: Role
    from_s: float
    to_s: float | None = None


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One grant or withdrawal in the consent ledger."""

    participant: str
    role: Role
    name: str
    granted: bool
    scopes: tuple[str, ...]
    on_behalf_of: str | None  # "customer" when the rep consented for them on one device
    given_by: str  # name of the person who sent the consent ("uploader" when declared)
    audio_time_s: float
    wall_time: float  # Unix time, from the transport
    erase: bool = False
    # Declared on the person's behalf by whoever uploaded a recording (`sparring analyse`),
    # not given by them on a device of their own.
    declared: bool = False


class InterruptionRecord(msgspec.Struct, frozen=True, kw_only=True):
    at_s: float
    overlap_s: float


class LanguageReport(msgspec.Struct, frozen=True, kw_only=True):
    """What was said, from final transcripts (empty without recognition or consent)."""

    questions: QuestionCounts
    why_questions: int
    questions_per_10_min: float | None
    summaries: int
    follow_ups: int
    wpm: float | None  # over the whole call's rep speech
    fillers: int
    filler_share: float
    filler_words: tuple[str, ...]
    checklist: tuple[ChecklistEntry, ...]
    opening: bool  # purpose or agenda stated early
    closing_summary: bool
    next_step: bool


class SessionReport(msgspec.Struct, frozen=True, kw_only=True):
    session: str
    title: str
    language: str
    status: str
    duration_s: float
    talk: TalkShare
    rep_speech_s: float
    customer_speech_s: float
    longest_monologue_s: float
    interruptions: tuple[InterruptionRecord, ...]
    overlaps: int
    response_gaps_s: tuple[float, ...]
    mean_response_gap_s: float | None
    nudges: tuple[Nudge, ...]
    transcript: tuple[Transcript, ...]
    consent: tuple[ConsentRecord, ...]
    dropped_before_consent_s: float
    language_report: LanguageReport | None = None
    erased: bool = False
    # Each change of what a microphone was good for (leak, noise, ...): see `AudioCheck`.
    audio_checks: tuple[AudioCheck, ...] = ()
    # The playbook's evaluation form applied to the call, once it has ended.
    scorecard: Scorecard | None = None
    # Whether the call's speech was recognised (as in `state`): "unavailable" explains an
    # empty transcript, and `recognition_install` names the install that brings the language.
    recognition: str = "on"
    recognition_install: str = ""
    # Connections that dropped and the time they were away (rejoin; docs/protocol.md).
    absences: tuple[Absence, ...] = ()


class SharedReport(msgspec.Struct, frozen=True, kw_only=True):
    """The part of a report that a customer or observer may read (see server/core/audience.py).

    The rep's coaching (figures, nudges, the language scorecard) is left out; `withheld`
    says why, in words a reader understands.
    """

    session: str
    title: str
    language: str
    status: str
    duration_s: float
    consent: tuple[ConsentRecord, ...]
    transcript: tuple[Transcript, ...] = ()
    withheld: str = ""
    erased: bool = False
