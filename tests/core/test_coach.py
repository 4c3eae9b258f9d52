"""The coach: built as one unit from a playbook; what it keeps and what it decides."""

from __future__ import annotations

import msgspec

from models.playbook import RuleName, default_playbook
from server.core.coach import Coach
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
