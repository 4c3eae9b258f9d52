"""The joint timeline: both parties on one audio clock, ticks and interruptions."""

from __future__ import annotations

from models.wire import Role
from server.core.timeline import LAG_BOUND_FRAMES, Timeline
from server.core.turns import TurnSettings
from tests.core.harness import SILENCE, SPEECH, ScriptedVad


def test_timeline_ticks_once_per_audio_second_however_audio_is_chunked() -> None:
    for chunk in (1, 7, 33):
        t = Timeline(TurnSettings(), ScriptedVad)
        t.start()
        ticks = 0
        for _ in range(0, 330, chunk):
            t.feed(Role.REP, SPEECH * chunk)
            t.feed(Role.CUSTOMER, SILENCE * chunk)
            ticks += sum(m.tick for m in t.advance())
        ticks += sum(m.tick for m in t.advance(drain=True))
        assert ticks == 9 or ticks == 10, chunk  # 330 frames = 9.9 s


def test_timeline_waits_for_the_slower_party_up_to_the_lag_bound() -> None:
    t = Timeline(TurnSettings(), ScriptedVad)
    t.start()
    t.feed(Role.REP, SPEECH * 20)
    list(t.advance())
    assert t.turns.frame == 0  # within the bound: wait for the customer's audio
    t.feed(Role.REP, SPEECH * 180)
    list(t.advance())
    decided = t.parties[Role.REP].decided_end
    assert t.turns.frame == decided - LAG_BOUND_FRAMES  # past it: the customer is silent
    assert t.turns.customer_frames == 0 and t.turns.rep_frames == t.turns.frame


def test_timeline_restart_begins_at_zero() -> None:
    t = Timeline(TurnSettings(), ScriptedVad)
    t.start()
    for _ in range(100):
        t.feed(Role.REP, SPEECH)
        t.feed(Role.CUSTOMER, SILENCE)
        list(t.advance())
    assert t.at_s > 2
    t.pause()
    t.restart()
    assert t.at_s == 0 and t.turns.rep_frames == 0
