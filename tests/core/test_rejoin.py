"""Rejoin: a rep or customer whose connection drops keeps their place for a grace period,
and a new connection with their token takes over one that still looks open."""

from __future__ import annotations

import pytest

from models.errors import RoleTaken
from models.wire import AudioFormat, Checklist, Consent, Metrics, Role, State
from server.core.roster import Roster, Status
from tests.core.harness import FPS, SILENCE, SPEECH, make_session

MONO = AudioFormat()
STEREO = AudioFormat(channels=2)


def live_roster() -> tuple[Roster, str, str]:
    roster = Roster("s", rejoin_grace_s=60.0)
    rep = roster.join(Role.REP, "Anna", MONO).id
    customer = roster.join(Role.CUSTOMER, "Bob", MONO).id
    roster.consent(rep, Consent(granted=True), 0.0, 0.0)
    roster.consent(customer, Consent(granted=True), 0.0, 0.0)
    return roster, rep, customer


def test_roster_dropped_party_reconnects_with_consent_kept() -> None:
    roster, _, customer = live_roster()
    p = roster.leave(customer, wall_time=100.0, at_s=12.5)
    assert p is not None and p.reconnecting and not p.connected and p.consented
    assert roster.may_be_live() and roster.waiting_for() == ()
    view = next(
        v for v in (q.view() for q in roster.participants.values()) if v.role is Role.CUSTOMER
    )
    assert view.reconnecting and not view.connected
    assert customer not in roster.connected_ids()  # nothing is sent to a dropped connection
    back = roster.join(Role.CUSTOMER, "Bob", MONO, at_s=20.0)
    assert back.id == customer and back.connected and not back.reconnecting and back.consented
    assert [(a.role, a.from_s, a.to_s) for a in roster.absences] == [(Role.CUSTOMER, 12.5, 20.0)]
    assert len(roster.ledger) == 2  # no consent asked again


def test_roster_grace_running_out_is_leaving() -> None:
    roster, rep, _ = live_roster()
    roster.leave(rep, wall_time=100.0, at_s=3.0)
    assert roster.give_up(rep, dropped_at=99.0) is None  # an earlier drop's timer
    gone = roster.give_up(rep, dropped_at=100.0)
    assert gone is not None and not gone.consented and not gone.reconnecting
    assert not roster.may_be_live() and roster.waiting_for() == ("rep",)
    assert [(a.from_s, a.to_s) for a in roster.absences] == [(3.0, None)]
    assert roster.give_up(rep, dropped_at=100.0) is None  # told once
    # After the grace, a returning rep is a new participant who consents again.
    again = roster.join(Role.REP, "Anna", MONO)
    assert again.id != rep and not again.consented


def test_roster_without_grace_leaves_at_once_and_connected_party_is_refused() -> None:
    roster = Roster("s")
    rep = roster.join(Role.REP, "Anna", MONO).id
    p = roster.leave(rep)
    assert p is not None and not p.reconnecting and roster.party(Role.REP) is None
    roster.join(Role.REP, "Anna", MONO)
    with pytest.raises(RoleTaken):  # no grace, no place kept: nothing to take over
        roster.join(Role.REP, "Anna", MONO)


def test_roster_takeover_of_a_connection_that_still_looks_open() -> None:
    roster, rep, customer = live_roster()
    back = roster.join(Role.REP, "Anna", STEREO, at_s=14.0, heard_until_s=10.0)
    assert back.id == rep and back.connected and not back.reconnecting and back.consented
    assert back.audio is not None and back.audio.format == STEREO  # the new connection's
    assert [(a.role, a.from_s, a.to_s) for a in roster.absences] == [(Role.REP, 10.0, 14.0)]
    assert len(roster.ledger) == 2 and roster.may_be_live()  # consent kept, nothing asked
    # Audio that never stopped (another window of the same link): no time away.
    again = roster.join(Role.CUSTOMER, "Bob", MONO, at_s=20.0, heard_until_s=20.0)
    assert again.id == customer and len(roster.absences) == 1
    assert len(roster.participants) == 2


def test_roster_customer_on_the_reps_device_is_not_taken_over() -> None:
    roster = Roster("s", rejoin_grace_s=60.0)
    rep = roster.join(Role.REP, "Anna", STEREO).id
    roster.consent(rep, Consent(granted=True, on_behalf_of="customer", name="Bob"), 0.0, 0.0)
    with pytest.raises(RoleTaken):  # the customer's place is on the rep's device
        roster.join(Role.CUSTOMER, "Bob", MONO)


def test_roster_end_records_who_never_came_back() -> None:
    roster, _, customer = live_roster()
    roster.leave(customer, wall_time=1.0, at_s=4.0)
    roster.end()
    assert roster.status is Status.ENDED
    assert [(a.role, a.to_s) for a in roster.absences] == [(Role.CUSTOMER, None)]


def test_session_goes_on_while_a_party_is_away_and_catches_them_up() -> None:
    h = make_session()
    h.session.roster.rejoin_grace_s = 60.0
    h.play([(3.0, True, False)])
    out = h.session.leave(h.customer, wall_time=50.0)
    states = [m for _, m in out.sends if isinstance(m, State)]
    assert h.session.is_live and states and states[-1].live
    assert any(p.reconnecting for p in states[-1].participants)
    before = len([m for m in h.sent(h.rep) if isinstance(m, Metrics)])
    away_at = h.session.at_s
    # Only the rep sends: past the lag bound the missing customer counts as silent.
    for _ in range(400):
        h.outputs.append(h.session.feed_audio(h.rep, SPEECH))
    assert h.session.at_s > away_at + 5 and h.session.is_live
    assert len([m for m in h.sent(h.rep) if isinstance(m, Metrics)]) > before
    pid, out = h.session.join(Role.CUSTOMER, "Bob", MONO)
    assert pid == h.customer and h.session.is_live
    sent_back = [m for p, m in out.sends if p == pid]
    assert any(isinstance(m, State) for m in sent_back)
    h.outputs.append(h.session.feed_audio(h.customer, SILENCE))
    absence = h.session.report().absences[0]
    assert absence.role is Role.CUSTOMER and absence.to_s is not None
    assert absence.from_s == pytest.approx(away_at, abs=0.01) and absence.to_s > absence.from_s
    h.session.leave(h.rep, wall_time=60.0)
    pid, out = h.session.join(Role.REP, "Anna", MONO)
    assert pid == h.rep  # the rep's reloaded page gets its checklist back
    assert any(isinstance(m, Checklist) for p, m in out.sends if p == pid)


def test_session_pauses_when_the_grace_runs_out_and_ends_when_nobody_is_left() -> None:
    h = make_session()
    h.session.roster.rejoin_grace_s = 60.0
    h.play([(1.0, True, False)])
    h.session.leave(h.customer, wall_time=10.0)
    assert h.session.give_up(h.customer, 10.0).sends
    assert h.session.status is Status.PAUSED
    h.session.leave(h.rep, wall_time=20.0)
    assert h.session.status is Status.PAUSED  # the rep may still come back
    h.session.give_up(h.rep, 20.0)
    assert h.session.is_ended
    assert [a.role for a in h.session.report().absences] == [Role.CUSTOMER, Role.REP]


def test_session_takeover_keeps_the_call_and_counts_the_new_connection() -> None:
    h = make_session()
    h.session.roster.rejoin_grace_s = 60.0
    h.play([(5.0, True, False)])  # the rep talks
    spoke_s = h.session.turns.rep_frames / FPS
    heard_until_s = h.session.at_s
    # The rep's Wi-Fi switches: their audio stops, the old connection still looks open,
    # and the customer's audio goes on (past the lag bound the rep counts as silent).
    for _ in range(round(10 * FPS)):
        h.outputs.append(h.session.feed_audio(h.customer, SPEECH))
    assert h.session.is_live and h.session.at_s > heard_until_s + 5
    pid, out = h.session.join(Role.REP, "Anna", MONO)
    assert pid == h.rep and h.session.is_live
    state = [m for p, m in out.sends if isinstance(m, State) and p == h.customer][-1]
    rep_view = next(v for v in state.participants if v.role is Role.REP)
    assert rep_view.connected and not rep_view.reconnecting and rep_view.consented
    assert any(isinstance(m, Checklist) for p, m in out.sends if p == pid)  # a new page
    absence = h.session.report().absences[0]
    assert absence.role is Role.REP and absence.from_s == pytest.approx(heard_until_s, abs=0.1)
    assert absence.to_s == pytest.approx(h.session.at_s, abs=0.01)
    assert h.session.turns.rep_frames / FPS == pytest.approx(spoke_s, abs=0.1)  # kept
    # What the rep says on the new connection counts at once (their clock caught up).
    h.play([(5.0, True, False)])
    assert h.session.turns.rep_frames / FPS == pytest.approx(spoke_s + 5.0, abs=0.5)


def test_session_rejoin_after_a_long_drop_counts_what_the_party_says_next() -> None:
    h = make_session()
    h.session.roster.rejoin_grace_s = 60.0
    h.play([(3.0, False, False)])
    h.session.leave(h.customer, wall_time=50.0)
    for _ in range(round(20 * FPS)):  # far past the lag bound
        h.session.feed_audio(h.rep, SILENCE)
    h.session.join(Role.CUSTOMER, "Bob", MONO)
    h.play([(20.0, False, True)])
    assert h.session.turns.customer_frames / FPS == pytest.approx(20.0, abs=1.0)
