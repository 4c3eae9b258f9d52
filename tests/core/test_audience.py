"""The audience policy: every kind of message x every role x every consent combination."""

from __future__ import annotations

import itertools

import pytest

from models.wire import AudioFormat, Consent, Role, Scope
from server.core import audience
from server.core.audience import Kind, Mask, ReportView
from server.core.roster import Roster, Status

C, T, V = "coaching", "transcript", "trainer_view"
GRANTS: list[tuple[str, ...] | None] = [None, (C,), (C, T), (C, V), (C, T, V)]
OBSERVER: list[tuple[str, ...] | None | str] = ["absent", None, (C,)]
ABOUT_A_PARTY = (Kind.TRANSCRIPT, Kind.AUDIO_CHECK)


def build(rep, customer, observer) -> tuple[Roster, dict[Role, str]]:
    roster = Roster("s")
    ids = {
        Role.REP: roster.join(Role.REP, "Anna", AudioFormat()).id,
        Role.CUSTOMER: roster.join(Role.CUSTOMER, "Bob", AudioFormat()).id,
    }
    if observer != "absent":
        ids[Role.OBSERVER] = roster.join(Role.OBSERVER, "Olga", None).id
    for role, scopes in ((Role.REP, rep), (Role.CUSTOMER, customer), (Role.OBSERVER, observer)):
        if role in ids and isinstance(scopes, tuple):
            roster.consent(ids[role], Consent(granted=True, scopes=scopes), 0.0, 0.0)
    return roster, ids


def expected(kind: Kind, about: Role | None, rep, customer, observer) -> dict[Role, Mask]:
    """The promise of the consent screen, written out per role."""
    watched = rep is not None and V in rep and customer is not None and V in customer
    observer_sees = observer not in ("absent", None) and watched
    everyone = {Role.REP, Role.CUSTOMER} | ({Role.OBSERVER} if observer != "absent" else set())
    if kind in (Kind.STATE, Kind.REPORT):
        return dict.fromkeys(everyone, Mask.FULL)
    if kind is Kind.WHISPER:
        return {Role.REP: Mask.FULL}
    if kind is Kind.FORM:  # the form reveals nothing of the call: the rep, and peers who agreed
        return {Role.REP: Mask.FULL} | (
            {Role.OBSERVER: Mask.FULL} if observer not in ("absent", None) else {}
        )
    if kind is Kind.TRANSCRIPT:
        speaker_scopes = rep if about is Role.REP else customer
        if speaker_scopes is None or T not in speaker_scopes:
            return {}  # nobody reads the words of a party who did not allow transcripts
        out = {Role.REP: Mask.FULL}
        if customer is not None and T in customer:
            out[Role.CUSTOMER] = Mask.PLAIN  # never the rep's coaching marks
        if observer_sees:
            out[Role.OBSERVER] = Mask.FULL
        return out
    coaching = {Role.REP: Mask.FULL} | ({Role.OBSERVER: Mask.FULL} if observer_sees else {})
    if kind is Kind.AUDIO_CHECK and about is Role.CUSTOMER:
        return coaching | {Role.CUSTOMER: Mask.FULL}  # told about their own microphone
    # Metrics, nudges, checklist, the rep's audio check: the rep's coaching.
    return coaching


CASES = [
    (kind, about, rep, customer, observer)
    for rep, customer, observer in itertools.product(GRANTS, GRANTS, OBSERVER)
    for kind in Kind
    for about in ((Role.REP, Role.CUSTOMER) if kind in ABOUT_A_PARTY else (None,))
]


@pytest.mark.parametrize("kind, about, rep, customer, observer", CASES)
def test_audience_table(kind, about, rep, customer, observer) -> None:
    roster, ids = build(rep, customer, observer)
    by_id = {pid: role for role, pid in ids.items()}
    got = {by_id[pid]: mask for pid, mask in audience.recipients(roster, kind, about)}
    assert got == expected(kind, about, rep, customer, observer)


@pytest.mark.parametrize("rep, customer", list(itertools.product(GRANTS, GRANTS)))
def test_audience_publishes_only_what_both_parties_let_trainers_see(rep, customer) -> None:
    roster, _ = build(rep, customer, "absent")
    watched = rep is not None and V in rep and customer is not None and V in customer
    for kind in (
        Kind.STATE,
        Kind.METRICS,
        Kind.NUDGE,
        Kind.CHECKLIST,
        Kind.REPORT,
        Kind.AUDIO_CHECK,
    ):
        assert audience.publishes(roster, kind) is watched
    assert not audience.publishes(roster, Kind.WHISPER)
    assert not audience.publishes(roster, Kind.TRANSCRIPT, final=False, about=Role.REP)
    rep_words = rep is not None and T in rep
    assert audience.publishes(roster, Kind.TRANSCRIPT, about=Role.REP) is (watched and rep_words)
    assert audience.private(roster) is not watched
    roster.status = Status.ENDED
    # An ended call stays as open to trainers as every grant of its parties was; a
    # private one's end reaches them only as its one `call` line (session.summary()).
    assert audience.publishes(roster, Kind.STATE) is watched
    assert audience.private(roster) is not watched


def test_audience_stereo_customer_receives_nothing() -> None:
    roster = Roster("s")
    rep = roster.join(Role.REP, "Anna", AudioFormat(channels=2))
    everything = (C, T, V)
    roster.consent(rep.id, Consent(granted=True, scopes=everything), 0.0, 0.0)
    roster.consent(
        rep.id,
        Consent(granted=True, scopes=everything, on_behalf_of="customer", name="Bob"),
        0.0,
        0.0,
    )
    for kind in Kind:
        assert [pid for pid, _ in audience.recipients(roster, kind, Role.CUSTOMER)] in (
            [rep.id],
            [],
        )
    assert audience.transcribes(roster, Role.CUSTOMER)


@pytest.mark.parametrize("observer, may", [(None, False), ((C,), True)])
def test_audience_whisper_needs_the_observers_consent(observer, may) -> None:
    roster, ids = build((C,), (C,), observer)
    assert audience.may_whisper(roster, ids[Role.OBSERVER]) is may
    assert not audience.may_whisper(roster, ids[Role.CUSTOMER])


@pytest.mark.parametrize(
    "rep, customer, observer_view",
    [
        ((C, T, V), (C, T, V), ReportView.FULL),
        ((C, T, V), (C, T), ReportView.LEDGER),
        ((C,), (C, V), ReportView.LEDGER),
    ],
)
def test_audience_report_views(rep, customer, observer_view) -> None:
    roster, _ = build(rep, customer, "absent")
    assert audience.report_view(roster, Role.REP) is ReportView.FULL
    assert audience.report_view(roster, Role.CUSTOMER) is ReportView.PARTY
    assert audience.report_view(roster, Role.OBSERVER) is observer_view
    assert audience.report_view(roster, None) is observer_view  # the trainer key
    assert audience.customer_reads_transcript(roster) is (T in customer)


def test_audience_report_view_survives_the_end_of_the_call() -> None:
    roster, _ = build((C, T, V), (C, T, V), "absent")
    roster.end()
    assert audience.report_view(roster, Role.OBSERVER) is ReportView.FULL
    assert audience.recipients(roster, Kind.STATE) == []  # nobody is connected any more


def test_audience_scope_values_are_the_wire_names() -> None:
    assert [s.value for s in Scope] == [C, T, V]
