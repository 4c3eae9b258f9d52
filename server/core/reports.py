"""The report of a session, whole or as far as a reader may see it (audience.ReportView).

Pure: built from the session's parts on request; nothing here decides who reads what.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from models.playbook import Playbook
from models.report import InterruptionRecord, SessionReport, SharedReport
from models.scorecard import Evaluation
from models.wire import RecognitionStatus, Role, TalkShare, Transcript
from server.core.audience import ReportView, customer_reads_transcript
from server.core.coach import Coach
from server.core.roster import Roster, Status
from server.core.scorecard import build_scorecard
from server.core.turns import Turns
from server.core.vad import FRAME_S


class Reported(Protocol):
    """What a report is made of: a session's parts, read only."""

    id: str
    title: str
    language: str
    asr: bool
    recognition: RecognitionStatus
    recognition_install: str
    erased: bool
    dropped_before_consent_s: float
    roster: Roster
    coach: Coach
    playbook: Playbook
    evaluations: list[Evaluation]

    @property
    def status(self) -> Status: ...

    @property
    def turns(self) -> Turns: ...

    def text_language(self) -> str: ...


_WITHHELD = {
    ReportView.PARTY: "The rep's coaching is theirs: figures, nudges and scores are not shown here.",
    ReportView.LEDGER: "Rep and customer did not both allow trainer view, so only the call and "
    "its consent record are shown.",
}


def full_report(s: Reported) -> SessionReport:
    """Everything kept of the call: what the rep reads (and trainers, with trainer view)."""
    t = s.turns
    rep, customer = t.talk_share()
    report = SessionReport(
        session=s.id,
        title=s.title,
        language=s.language,
        status=s.status.value,
        duration_s=t.at_s,
        talk=TalkShare(rep=rep, customer=customer),
        rep_speech_s=round(t.rep_frames * FRAME_S, 3),
        customer_speech_s=round(t.customer_frames * FRAME_S, 3),
        longest_monologue_s=t.longest_monologue_s,
        interruptions=tuple(
            InterruptionRecord(at_s=i.at_s, overlap_s=i.overlap_s) for i in t.interruptions
        ),
        overlaps=t.overlaps,
        response_gaps_s=tuple(t.gaps_s),
        mean_response_gap_s=t.mean_gap_s(len(t.gaps_s) or 1),
        nudges=tuple(s.coach.nudges),
        transcript=tuple(s.coach.transcript),
        consent=tuple(s.roster.ledger),
        dropped_before_consent_s=round(s.dropped_before_consent_s, 3),
        language_report=(s.coach.language_report(t.at_s, s.text_language()) if s.asr else None),
        erased=s.erased,
        audio_checks=tuple(s.coach.audio_checks),
        recognition=s.recognition,
        recognition_install=s.recognition_install,
        absences=tuple(s.roster.absences),
    )
    if s.status is not Status.ENDED or not s.playbook.form:
        return report
    rep_name, customer_name = party_names(s.roster)
    scorecard = build_scorecard(
        report, s.playbook.form, s.evaluations, rep=rep_name, customer=customer_name
    )
    return msgspec.structs.replace(report, scorecard=scorecard)


def party_names(roster: Roster) -> tuple[str, str]:
    """The rep's and the customer's names as they joined (or as consented on the rep's
    device); the role's word where a name was never given."""
    names = {Role.REP: "", Role.CUSTOMER: ""}
    for p in roster.participants.values():
        if p.role in names and not names[p.role]:
            names[p.role] = p.name
    return names[Role.REP] or "rep", names[Role.CUSTOMER] or "customer"


def report_for(s: Reported, view: ReportView) -> SessionReport | SharedReport:
    """The report as `view` allows: whole, or the call and its ledger without the coaching."""
    if view is ReportView.FULL:
        return full_report(s)
    transcript: tuple[Transcript, ...] = ()
    if view is ReportView.PARTY and customer_reads_transcript(s.roster):
        transcript = tuple(
            msgspec.structs.replace(t, question=None, tip=None, summary=False)
            for t in s.coach.transcript
        )
    return SharedReport(
        session=s.id,
        title=s.title,
        language=s.language,
        status=s.status.value,
        duration_s=s.turns.at_s,
        consent=tuple(s.roster.ledger),
        transcript=transcript,
        withheld=_WITHHELD[view],
        erased=s.erased,
    )
