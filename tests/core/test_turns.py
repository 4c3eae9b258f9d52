"""Turns on scripted joint frames: talk time, monologues, interruptions, gaps, silence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.turns import Interrupted, RepTurnStarted, Turns

FPS = 100 / 3  # 30 ms frames per second


def frames(seconds: float) -> int:
    return round(seconds * FPS)


def play(turns: Turns, script: list[tuple[float, bool, bool]]) -> list[object]:
    """Feeds (seconds, rep, customer) stretches; returns the events."""
    events = []
    for seconds, rep, customer in script:
        for _ in range(frames(seconds)):
            event = turns.step(rep, customer)
            if event is not None:
                events.append(event)
    return events


def test_turns_talk_share_counts_each_party() -> None:
    t = Turns()
    play(t, [(3, True, False), (1, False, False), (1, False, True)])
    rep, customer = t.talk_share()
    assert abs(rep - 0.75) < 0.01 and abs(customer - 0.25) < 0.01


def test_turns_rolling_window_forgets_old_speech() -> None:
    t = Turns()
    play(t, [(60, True, False), (130, False, True)])
    assert t.window_share()[0] == 0.0
    assert t.talk_share()[0] > 0.3


def test_turns_short_pauses_do_not_break_a_monologue() -> None:
    t = Turns()
    play(t, [(20, True, False), (1.2, False, False), (20, True, False)])
    assert abs(t.current_monologue_s - 41.2) < 0.1


def test_turns_long_pause_ends_the_monologue() -> None:
    t = Turns()
    play(t, [(20, True, False), (2, False, False), (5, True, False)])
    assert abs(t.current_monologue_s - 5) < 0.1
    assert abs(t.longest_monologue_s - 20) < 0.1


def test_turns_stray_frames_of_the_rep_in_the_customer_s_turn_start_no_monologue() -> None:
    # A stereo device: attribution takes a frame of the customer's turn for the rep now and
    # then. The rep's next turn is a monologue of its own, not one since the first stray frame.
    t = Turns()
    stray = [(0.03, True, True), (0.97, False, True)] * 8
    play(t, [(6, True, False), (1, False, False), (2, False, True), *stray, (5, True, False)])
    assert abs(t.longest_monologue_s - 6) < 0.1
    assert abs(t.current_monologue_s - 5) < 0.1


def test_turns_customer_backchannel_keeps_the_monologue_but_a_turn_ends_it() -> None:
    t = Turns()
    play(t, [(10, True, False), (0.5, True, True), (10, True, False)])
    assert t.current_monologue_s > 20
    play(t, [(1.5, False, True), (3, True, False)])
    assert t.current_monologue_s < 3.1


def test_turns_rep_backchannel_over_customer_is_not_an_interruption() -> None:
    t = Turns()
    events = play(t, [(3, False, True), (0.6, True, True), (3, False, True)])
    assert not any(isinstance(e, Interrupted) for e in events)


def test_turns_rep_talking_over_customer_is_an_interruption() -> None:
    t = Turns()
    events = play(t, [(3, False, True), (1.2, True, True), (3, True, False)])
    interruptions = [e for e in events if isinstance(e, Interrupted)]
    assert len(interruptions) == 1
    assert abs(interruptions[0].at_s - 3.0) < 0.05


@pytest.mark.parametrize("gap_s, interrupted", [(0.06, True), (0.3, False)])
def test_turns_a_rep_run_survives_gaps_shorter_than_the_vad_hangover(
    gap_s: float, interrupted: bool
) -> None:
    # Attribution can take a frame or two of the rep's own speech in an overlap for the
    # customer's voice heard twice; the VAD's labels themselves never pause under 300 ms.
    t = Turns()
    script = [(3, False, True), (0.6, True, True), (gap_s, False, True), (0.6, True, True)]
    events = play(t, [*script, (3, False, True)])
    interruptions = [e for e in events if isinstance(e, Interrupted)]
    assert len(interruptions) == interrupted
    assert not interrupted or abs(interruptions[0].at_s - 3.0) < 0.05


def test_turns_response_gap_is_measured_after_the_customer_ends() -> None:
    t = Turns()
    events = play(t, [(2, False, True), (0.3, False, False), (2, True, False)])
    gaps = [e for e in events if isinstance(e, RepTurnStarted)]
    assert len(gaps) == 1 and abs(gaps[0].gap_s - 0.3) < 0.04


def test_turns_silence_counts_from_the_last_speech() -> None:
    t = Turns()
    assert t.silence_s == 0.0
    play(t, [(1, True, False), (7, False, False)])
    assert abs(t.silence_s - 7) < 0.05


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=600))
def test_turns_shares_sum_to_one_once_anyone_spoke(script: list[tuple[bool, bool]]) -> None:
    t = Turns()
    for rep, customer in script:
        t.step(rep, customer)
    rep, customer = t.talk_share()
    if t.rep_frames + t.customer_frames:
        assert abs(rep + customer - 1.0) < 1e-9
        wrep, wcustomer = t.window_share()
        assert abs(wrep + wcustomer - 1.0) < 1e-9
    else:
        assert (rep, customer) == (0.0, 0.0)
    assert t.longest_monologue_s >= t.current_monologue_s
