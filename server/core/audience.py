"""Who may receive what: the one reader of consent scopes.

Pure functions of the roster and a kind of message. Everything that sends asks here: the
session for its connections and the bus, the HTTP report for a token's role, the speech
path for whose words may be transcribed. Observers never gate analysis (see roster.py);
what they see follows the parties' `trainer_view`.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from models.wire import Role, Scope
from server.core.roster import PARTIES, Participant, Roster, Status


class Kind(StrEnum):
    """Kinds of what the core produces, as the policy tells them apart."""

    STATE = "state"
    METRICS = "metrics"
    NUDGE = "nudge"
    TRANSCRIPT = "transcript"
    CHECKLIST = "checklist"
    REPORT = "report"  # the end-of-call link to the report
    WHISPER = "whisper"  # an observer's manual nudge to the rep
    AUDIO_CHECK = "audio_check"  # what one party's microphone is good for
    FORM = "form"  # the evaluation form: for the rep's reflection and peers' ticks


class Mask(Enum):
    """The fields a recipient may see of a message."""

    FULL = "full"
    PLAIN = "plain"  # a transcript without the rep's coaching marks (question, tip)


class ReportView(Enum):
    """How much of the stored report a reader may see."""

    FULL = "full"  # the rep; observers and trainers when both parties allowed trainer view
    PARTY = "party"  # the customer: the call, the ledger, the transcript if they granted it
    LEDGER = "ledger"  # observers and trainers without trainer view: the call and the ledger


Recipient = tuple[str, Mask]

# What the rep's coaching is made of: the rep sees it, trainers may, the customer never
# (except the check of their own microphone).
_COACHING = frozenset({Kind.METRICS, Kind.NUDGE, Kind.CHECKLIST, Kind.AUDIO_CHECK})


def recipients(roster: Roster, kind: Kind, about: Role | None = None) -> list[Recipient]:
    """The connected participants that may receive a message of `kind`.

    Args:
        roster: The session's participants and their consent.
        kind: What is being sent.
        about: For a transcript, whose words it holds.
    """
    if kind is Kind.TRANSCRIPT and not transcribes(roster, about):
        return []  # narrowed consent: even results already in flight stop here
    out: list[Recipient] = []
    watched = roster.parties_grant(Scope.TRAINER_VIEW)
    for p in roster.participants.values():
        if not p.reachable:
            continue
        if kind is Kind.AUDIO_CHECK and p.role is Role.CUSTOMER:
            # The customer hears about their own microphone only (the rep's is coaching).
            mask: Mask | None = Mask.FULL if about is Role.CUSTOMER else None
        else:
            mask = _mask(p, kind, watched)
        if mask is not None:
            out.append((p.id, mask))
    return out


def _mask(p: Participant, kind: Kind, watched: bool) -> Mask | None:
    if kind in (Kind.STATE, Kind.REPORT):
        return Mask.FULL  # everyone always sees whether analysis is on
    if p.role is Role.REP:
        return Mask.FULL
    if p.role is Role.CUSTOMER:
        if kind is Kind.TRANSCRIPT and p.has(Scope.TRANSCRIPT):
            return Mask.PLAIN
        return None
    if kind is Kind.FORM:  # the form tells nothing of the call: every peer may tick it
        return Mask.FULL if p.consented else None
    # Observers: what both parties allowed trainers to see, once they agreed to the terms.
    if p.consented and watched and (kind in _COACHING or kind is Kind.TRANSCRIPT):
        return Mask.FULL
    return None


def publishes(roster: Roster, kind: Kind, *, final: bool = True, about: Role | None = None) -> bool:
    """Whether an event goes to trainers beyond this session (the bus, MQTT).

    Only calls whose parties both allow trainer view are published (every call's
    `call` line is, a private one as one line only: see `private`). Partial transcripts
    stay local.
    """
    if kind is Kind.WHISPER or private(roster):
        return False
    if kind is Kind.TRANSCRIPT:
        return final and transcribes(roster, about)
    return True


def private(roster: Roster) -> bool:
    """Whether trainers may not look into the call: its `call` line says only that it exists.

    While the call runs, rep and customer must both grant `trainer_view` now; once it has
    ended (the parties gone), every grant they gave must have included it.
    """
    if roster.status is Status.ENDED:
        return not roster.granted_throughout(Scope.TRAINER_VIEW)
    return not roster.parties_grant(Scope.TRAINER_VIEW)


def transcribes(roster: Roster, role: Role | None) -> bool:
    """Whether what `role` says may be recognised and shown (their `transcript` scope)."""
    if role not in PARTIES:
        return False
    p = roster.party(role)
    return p is not None and p.has(Scope.TRANSCRIPT)


def may_whisper(roster: Roster, pid: str) -> bool:
    """An observer may whisper to the rep once they agreed to the terms of what they see."""
    p = roster.participants.get(pid)
    return p is not None and p.role is Role.OBSERVER and p.consented


def report_view(roster: Roster, role: Role | None, *, shared: bool = False) -> ReportView:
    """How much of the report a token of `role` reads (None: the trainer key).

    `shared`: the rep let the customer read the whole report.

    Decided on the ledger, not on who is connected now: a report outlives the call, and a
    party who narrowed their consent at any point narrowed it for what was kept.
    """
    if role is Role.REP:
        return ReportView.FULL
    if role is Role.CUSTOMER:
        return ReportView.FULL if shared else ReportView.PARTY
    if roster.granted_throughout(Scope.TRAINER_VIEW):
        return ReportView.FULL
    return ReportView.LEDGER


def customer_reads_transcript(roster: Roster) -> bool:
    """The customer's report shows the transcript only if each of their grants included it."""
    grants = [c for c in roster.ledger if c.granted and c.role is Role.CUSTOMER]
    return bool(grants) and all(Scope.TRANSCRIPT in c.scopes for c in grants)
