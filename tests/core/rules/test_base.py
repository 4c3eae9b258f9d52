"""What every rule shares: the registry, hysteresis, texts from the playbook."""

from __future__ import annotations

import pytest

from models.playbook import RuleName, Rules, default_playbook
from server.core.rules import Armed, build_rules
from server.core.rules.base import registered


def test_rules_every_name_has_a_class_and_playbook_settings() -> None:
    assert set(registered()) == set(RuleName)
    assert list(Rules.__struct_fields__) == [name.value for name in RuleName]
    assert [r.name for r in build_rules(default_playbook())] == list(RuleName)


@pytest.mark.parametrize(
    "steps, fired",
    [
        ([(True, False)], [True]),
        ([(True, False), (True, False)], [True, True]),  # due until heard
    ],
)
def test_armed_due_while_over_and_armed(steps, fired) -> None:
    gate = Armed()
    assert [gate.due(over, recovered) for over, recovered in steps] == fired


def test_armed_stays_quiet_after_firing_until_recovered() -> None:
    gate = Armed()
    assert gate.due(True, False)
    gate.disarm()
    assert not gate.due(True, False)
    assert not gate.due(False, True)  # recovered: armed again, not over
    assert gate.due(True, False)


def test_rules_texts_are_filled_from_the_evidence() -> None:
    talk = build_rules(default_playbook())[0]
    candidate = talk.candidate({"rep_pct": 72, "customer_pct": 28, "window_s": 120}, "nl")
    assert "72%" in candidate.text and candidate.rule is RuleName.TALK_RATIO
