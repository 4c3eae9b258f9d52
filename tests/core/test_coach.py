"""The coach: built as one unit from a playbook; what it keeps and what it decides."""

from __future__ import annotations

import msgspec

from models.playbook import RuleName, default_playbook
from models.wire import Role
from server.core.coach import RELIABLE_AGAIN_S, Coach
from server.core.mic_check import Verdict
from server.core.turns import Turns


def test_coach_builds_only_enabled_rules_and_voice_analysis_when_needed() -> None:
    base = default_playbook()
    coach = Coach(base, "en")
    assert {r.name for r in coach.rules} == set(RuleName)
    assert coach.prosody is not None
    rules = msgspec.structs.replace(
        base.rules,
        monotone=msgspec.structs.replace(base.rules.monotone, enabled=False),
        volume=msgspec.structs.replace(base.rules.volume, enabled=False),
    )
    quiet = Coach(msgspec.structs.replace(base, rules=rules), "en")
    assert quiet.prosody is None
    assert RuleName.MONOTONE not in {r.name for r in quiet.rules}


def test_coach_language_rules_stay_silent_without_speech() -> None:
    coach = Coach(default_playbook(), "en")
    turns = Turns()
    for _ in range(round(300 / 0.03)):  # 5 minutes of a silent rep: no open question asked
        turns.step(False, False)
    chosen = coach.decide(turns, "en", speech_on=False, rep_text_in_flight=False)
    assert chosen is None or chosen.rule is not RuleName.OPEN_QUESTION


def test_coach_two_coaches_share_nothing() -> None:
    a, b = Coach(default_playbook(), "en"), Coach(default_playbook(), "en")
    assert a.policy is not b.policy and a.rules[0] is not b.rules[0] and a.speech is not b.speech


def interrupt(turns: Turns, coach: Coach) -> list[RuleName]:
    """The rep talks over the customer once (1 s of overlap, then 1.5 s alone); returns the
    rules of the nudges the coach chose meanwhile."""
    chosen = []
    for rep, customer, frames in ((False, True, 33), (True, True, 33), (True, False, 50)):
        for _ in range(frames):
            turns.step(rep, customer)
            picked = coach.decide(turns, "en", speech_on=False, rep_text_in_flight=False)
            if picked is not None:
                chosen.append(picked.rule)
    for _ in range(33):
        turns.step(False, False)
    return chosen


def silence(turns: Turns, seconds: float) -> None:
    for _ in range(round(seconds / 0.03)):
        turns.step(False, False)


def test_coach_no_talk_nudge_rests_on_an_unreliable_microphone() -> None:
    base = default_playbook()
    rules = msgspec.structs.replace(  # the silences below would make it speak
        base.rules, dead_air=msgspec.structs.replace(base.rules.dead_air, enabled=False)
    )
    coach, turns = Coach(msgspec.structs.replace(base, rules=rules), "en"), Turns()
    silence(turns, base.pacing.warmup_s)
    coach.set_verdict(Role.CUSTOMER, Verdict("noise", reliable=False), turns.at_s)
    for _ in range(3):  # interruptions the playbook nudges on (2 in 3 minutes) ...
        assert RuleName.INTERRUPTION not in interrupt(turns, coach)
    assert len(turns.interruptions) == 3  # ... counted, but not trusted
    # Reliable again: what happened before is no news, and the rules wait 30 s.
    coach.set_verdict(Role.CUSTOMER, Verdict("ok", reliable=True), turns.at_s)
    assert RuleName.INTERRUPTION not in interrupt(turns, coach)
    silence(turns, RELIABLE_AGAIN_S)
    picked = coach.decide(turns, "en", speech_on=False, rep_text_in_flight=False)
    assert picked is None or picked.rule is not RuleName.INTERRUPTION
    assert RuleName.INTERRUPTION in interrupt(turns, coach)  # a new one, on trusted audio


def test_coach_a_microphone_that_flaps_keeps_the_rules_silent_longer() -> None:
    coach, turns = Coach(default_playbook(), "en"), Turns()
    for _ in range(2):  # unreliable, reliable, unreliable, reliable: a 60 s hold
        coach.set_verdict(Role.CUSTOMER, Verdict("noise", reliable=False), turns.at_s)
        coach.set_verdict(Role.CUSTOMER, Verdict("ok", reliable=True), turns.at_s)
    held_until_s = turns.at_s + 2 * RELIABLE_AGAIN_S
    assert not coach.audio_reliable(held_until_s - 0.1)
    assert coach.audio_reliable(held_until_s)
