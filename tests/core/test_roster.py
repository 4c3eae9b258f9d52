"""The roster: who takes part, what they agreed to, when the call may be analysed."""

from __future__ import annotations

import pytest

from models.errors import BadAudioFormat, BadConsent, NotAllowedNow, RoleTaken
from models.wire import AudioFormat, Consent, Role, Scope
from server.core.roster import Roster, Status

MONO, STEREO = AudioFormat(), AudioFormat(channels=2)


def roster_with(*roles: Role) -> tuple[Roster, dict[Role, str]]:
    roster = Roster("s")
    ids = {
        role: roster.join(role, role.value, None if role is Role.OBSERVER else MONO).id
        for role in roles
    }
    return roster, ids


def test_roster_live_needs_rep_and_customer_consent_only() -> None:
    roster, ids = roster_with(Role.REP, Role.CUSTOMER, Role.OBSERVER)
    assert roster.status is Status.WAITING and not roster.may_be_live()
    roster.consent(ids[Role.REP], Consent(granted=True), 0.0, 1.0)
    assert roster.waiting_for() == ("customer consent",)
    roster.consent(ids[Role.CUSTOMER], Consent(granted=True), 0.0, 1.0)
    assert roster.may_be_live() and roster.waiting_for() == ()  # the observer never gates


def test_roster_waiting_for_names_missing_parties() -> None:
    roster, _ = roster_with(Role.REP)
    assert roster.waiting_for() == ("rep consent", "customer")


def test_roster_ledger_records_every_change_with_its_times() -> None:
    roster, ids = roster_with(Role.REP, Role.CUSTOMER)
    roster.consent(
        ids[Role.REP], Consent(granted=True, scopes=("coaching", "transcript")), 3.5, 99.0
    )
    change = roster.consent(ids[Role.REP], Consent(granted=True), 4.0, 100.0)
    assert change.lost(Scope.TRANSCRIPT) and not change.lost(Scope.COACHING)
    roster.consent(ids[Role.REP], Consent(granted=False, erase=True), 5.0, 101.0)
    assert [(c.granted, c.audio_time_s, c.wall_time, c.erase) for c in roster.ledger] == [
        (True, 3.5, 99.0, False),
        (True, 4.0, 100.0, False),
        (False, 5.0, 101.0, True),
    ]


def test_roster_granted_throughout_needs_every_grant_of_both_parties() -> None:
    roster, ids = roster_with(Role.REP, Role.CUSTOMER)
    everything = Consent(granted=True, scopes=("coaching", "transcript", "trainer_view"))
    roster.consent(ids[Role.REP], everything, 0.0, 0.0)
    assert not roster.granted_throughout(Scope.TRAINER_VIEW)  # the customer gave nothing
    roster.consent(ids[Role.CUSTOMER], everything, 0.0, 0.0)
    assert roster.granted_throughout(Scope.TRAINER_VIEW)
    roster.consent(ids[Role.CUSTOMER], Consent(granted=True), 1.0, 0.0)  # narrowed once
    roster.consent(ids[Role.CUSTOMER], everything, 2.0, 0.0)
    assert not roster.granted_throughout(Scope.TRAINER_VIEW)


def test_roster_refuses_what_it_cannot_honour() -> None:
    roster, ids = roster_with(Role.REP, Role.CUSTOMER)
    with pytest.raises(RoleTaken):
        roster.join(Role.REP, "again", MONO)
    with pytest.raises(BadAudioFormat):
        roster.join(Role.OBSERVER, "o", STEREO)
    with pytest.raises(BadConsent):
        roster.consent(ids[Role.REP], Consent(granted=True, scopes=("transcript",)), 0.0, 0.0)
    with pytest.raises(BadConsent):  # proxy consent needs stereo
        roster.consent(
            ids[Role.REP], Consent(granted=True, on_behalf_of="customer", name="B"), 0.0, 0.0
        )
    roster.end()
    with pytest.raises(NotAllowedNow):
        roster.join(Role.OBSERVER, "late", None)


def test_roster_stereo_customer_is_represented_and_leaves_with_the_rep() -> None:
    roster = Roster("s")
    rep = roster.join(Role.REP, "Anna", STEREO)
    roster.consent(rep.id, Consent(granted=True), 0.0, 0.0)
    roster.consent(rep.id, Consent(granted=True, on_behalf_of="customer", name="Bob"), 0.0, 0.0)
    customer = roster.party(Role.CUSTOMER)
    assert customer is not None and customer.on_behalf and not customer.reachable
    assert roster.may_be_live() and roster.connected_ids() == [rep.id]
    roster.leave(rep.id)
    assert roster.party(Role.CUSTOMER) is None


def test_roster_leaving_drops_consent_and_observers() -> None:
    roster, ids = roster_with(Role.REP, Role.CUSTOMER, Role.OBSERVER)
    roster.consent(ids[Role.CUSTOMER], Consent(granted=True), 0.0, 0.0)
    roster.leave(ids[Role.CUSTOMER])
    roster.leave(ids[Role.OBSERVER])
    assert roster.party(Role.CUSTOMER) is None and ids[Role.OBSERVER] not in roster.participants
    again = roster.join(Role.CUSTOMER, "Bob", MONO)  # a returning party replaces its entry
    assert not again.consented and len(roster.participants) == 2
