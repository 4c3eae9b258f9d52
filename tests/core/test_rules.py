"""Table-driven rule tests through the session core: scripted speech in, nudges out."""

from __future__ import annotations

import msgspec
import pytest

from models.playbook import Pacing, Playbook, default_playbook
from tests.core.harness import make_session

R, C, BOTH, NONE = (True, False), (False, True), (True, True), (False, False)


def s(seconds: float, who: tuple[bool, bool]) -> tuple[float, bool, bool]:
    return (seconds, *who)


def alternate(total_s: float, rep_s: float, customer_s: float, gap_s: float = 0.8) -> list:
    """Polite turn-taking: rep, gap, customer, gap, ... for `total_s`."""
    script, t = [], 0.0
    while t < total_s:
        script += [s(rep_s, R), s(gap_s, NONE), s(customer_s, C), s(gap_s, NONE)]
        t += rep_s + customer_s + 2 * gap_s
    return script


CASES = [
    # id, script, expected rules (in order of firing)
    ("balanced call: nothing", alternate(200, 5, 8), []),
    ("72% rep over 120 s: one talk_ratio", alternate(200, 13, 5), ["talk_ratio"]),
    # A 66 s monologue also lifts the 2-minute talk share over 65% on its way.
    (
        "65 s monologue after warm-up: talk_ratio, then monologue",
        alternate(50, 4, 6) + [s(66, R), s(1, NONE)] + alternate(30, 3, 6),
        ["talk_ratio", "monologue"],
    ),
    (
        "backchannels under 1 s are not interruptions",
        [s(50, NONE)] + [s(4, C), s(0.5, BOTH), s(3, C), s(1, NONE), s(3, R), s(1, NONE)] * 8,
        [],
    ),
    (
        "two interruptions in 3 minutes: interruption",
        alternate(50, 4, 6)
        + [s(3, C), s(1.5, BOTH), s(3, R), s(1, NONE), s(3, C), s(1.5, BOTH), s(3, R), s(1, NONE)]
        + alternate(30, 4, 6),
        ["interruption"],
    ),
    (
        "one interruption: nothing",
        alternate(50, 4, 6) + [s(3, C), s(1.5, BOTH), s(3, R), s(1, NONE)] + alternate(30, 4, 6),
        [],
    ),
    (
        "8 s of silence after warm-up: dead_air",
        alternate(50, 4, 6) + [s(8, NONE)] + alternate(10, 4, 6),
        ["dead_air"],
    ),
    ("quick replies: patience", alternate(80, 4, 6, gap_s=0.15), ["patience"]),
    ("warm-up: nothing in the first 45 s even when pushy", [s(40, R), s(2, NONE)], []),
]


@pytest.mark.parametrize("script, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules_table(script: list, expected: list[str]) -> None:
    h = make_session()
    h.play(script)
    assert [n.rule for n in h.nudges()] == expected


def test_rules_talk_ratio_text_carries_the_number() -> None:
    h = make_session()
    h.play(alternate(200, 13, 5))
    (nudge,) = h.nudges()
    pct = nudge.evidence["rep_pct"]
    assert f"{pct}%" in nudge.text and 65 < int(pct) < 80
    assert nudge.evidence["window_s"] == 120


def test_rules_talk_ratio_waits_for_recovery_before_firing_again() -> None:
    h = make_session()
    h.play(alternate(400, 13, 5))  # stays above 65% throughout: hysteresis keeps it quiet
    assert [n.rule for n in h.nudges()] == ["talk_ratio"]
    h.play(alternate(150, 3, 10) + alternate(200, 13, 5))  # recovers, then rises again
    assert [n.rule for n in h.nudges()] == ["talk_ratio", "talk_ratio"]


def test_rules_cooldown_and_global_gap_space_nudges() -> None:
    h = make_session()
    h.play(
        alternate(50, 4, 6)
        + [s(3, C), s(1.5, BOTH), s(3, R), s(1, NONE)] * 2
        + [s(70, R), s(2, NONE)]
    )
    nudges = h.nudges()
    assert [n.rule for n in nudges] == ["interruption", "talk_ratio", "monologue"]
    pacing = default_playbook().pacing
    for before, after in zip(nudges, nudges[1:]):
        # The global gap holds, except that a more important rule than the last one
        # (monologue 7 after talk_ratio 6) needs only the short priority gap.
        higher = _priority(after.rule) > _priority(before.rule)
        gap_s = pacing.priority_gap_s if higher else pacing.min_gap_s
        assert after.at - before.at >= gap_s
    # The monologue is heard while it lasts (it began at 69.5 s and runs 70 s).
    assert nudges[-1].at < 69.5 + 70


def _priority(rule: str) -> int:
    return int(getattr(default_playbook().rules, rule).priority)


def test_rules_priority_picks_the_most_important_first() -> None:
    h = make_session()
    # At the end of warm-up both interruption (8) and talk_ratio (6) hold.
    h.play([s(2, C), s(1.5, BOTH), s(30, R), s(2, C), s(1.5, BOTH), s(30, R), s(1, NONE)])
    rules = [n.rule for n in h.nudges()]
    assert rules[0] == "interruption"


def test_rules_disabled_rule_never_fires() -> None:
    base = default_playbook()
    rules = msgspec.structs.replace(
        base.rules, talk_ratio=msgspec.structs.replace(base.rules.talk_ratio, enabled=False)
    )
    h = make_session(msgspec.structs.replace(base, rules=rules))
    h.play(alternate(200, 13, 5))
    assert h.nudges() == []


def test_rules_dutch_session_gets_dutch_text() -> None:
    h = make_session()
    h.session.language = "nl"
    h.play(alternate(200, 13, 5))
    (nudge,) = h.nudges()
    assert "gepraat" in nudge.text


def test_pacing_warmup_is_configurable() -> None:
    h = make_session(Playbook(pacing=Pacing(warmup_s=0, min_gap_s=20, rule_cooldown_s=90)))
    h.play([s(2, C), s(1.5, BOTH), s(3, R), s(2, C), s(1.5, BOTH), s(3, R), s(1, NONE)])
    assert [n.rule for n in h.nudges()] == ["interruption"]
    assert h.nudges()[0].at < 15


def test_rules_monologue_after_a_lower_rule_is_heard_during_the_monologue() -> None:
    # Patience (priority 3) fires; a 14 s monologue crosses its 10 s threshold 10 s later
    # and ends inside the 20 s gap. The old pacing lost it; a higher priority needs only
    # the short priority gap.
    base = default_playbook()
    rules = msgspec.structs.replace(
        base.rules,
        talk_ratio=msgspec.structs.replace(base.rules.talk_ratio, enabled=False),
        monologue=msgspec.structs.replace(base.rules.monologue, threshold_s=10.0),
    )
    pacing = Pacing(warmup_s=0, min_gap_s=20, rule_cooldown_s=90)
    h = make_session(msgspec.structs.replace(base, rules=rules, pacing=pacing))
    h.play(alternate(50, 4, 6, gap_s=0.15) + [s(14, R), s(3, NONE), s(5, C)])
    patience, monologue = h.nudges()
    assert (patience.rule, monologue.rule) == ("patience", "monologue")
    end_s = float(monologue.evidence["start_s"]) + h.session.turns.longest_monologue_s
    assert monologue.at - patience.at < pacing.min_gap_s
    assert monologue.at <= end_s


def test_rules_equal_priorities_stay_one_per_gap() -> None:
    # Two rules of the same priority due together: the second waits the whole gap.
    base = default_playbook()
    rules = msgspec.structs.replace(
        base.rules,
        dead_air=msgspec.structs.replace(base.rules.dead_air, priority=3),
    )
    h = make_session(msgspec.structs.replace(base, rules=rules))
    h.play(alternate(55, 4, 6, gap_s=0.15) + [s(25, NONE)] + alternate(20, 4, 6, gap_s=0.15))
    patience, dead_air = h.nudges()
    assert (patience.rule, dead_air.rule) == ("patience", "dead_air")
    # Dead air was due 6 s into the silence, inside the gap after patience: it waited.
    due_s = dead_air.at - float(dead_air.evidence["silence_s"]) + rules.dead_air.threshold_s
    assert due_s < patience.at + base.pacing.min_gap_s <= dead_air.at
