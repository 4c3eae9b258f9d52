"""The nudge policy on its own: candidates in, at most one nudge out, on audio time."""

from __future__ import annotations

from models.playbook import Pacing, RuleName
from models.wire import Severity
from server.core.pacing import TEXT_WAIT_MAX_S, NudgePolicy
from server.core.rules import Candidate

PACING = Pacing(warmup_s=45, min_gap_s=20, rule_cooldown_s=90, priority_gap_s=5)


def cand(rule: RuleName, priority: int, *, waits: bool = False, linger_s: float = 0.0) -> Candidate:
    return Candidate(
        rule=rule,
        priority=priority,
        severity=Severity.INFO,
        text=rule.value,
        waits_for_rep_text=waits,
        linger_s=linger_s,
    )


TALK = cand(RuleName.TALK_RATIO, 6)
PACE = cand(RuleName.PACE, 5)
MONOLOGUE = cand(RuleName.MONOLOGUE, 7, linger_s=5.0)
SUMMARIZE = cand(RuleName.SUMMARIZE, 4, waits=True)


def run(policy: NudgePolicy, timeline: dict[float, list[Candidate]], **kw: bool) -> list:
    """Asks the policy once per audio second; returns (second, rule) of what was shown."""
    shown = []
    for t in range(int(max(timeline)) + 1):
        chosen = policy.choose(float(t), timeline.get(float(t), []), **kw)
        if chosen is not None:
            shown.append((t, chosen.rule))
    return shown


def test_pacing_nothing_during_warmup() -> None:
    policy = NudgePolicy(PACING)
    assert run(policy, {float(t): [TALK] for t in range(46)}) == [(45, RuleName.TALK_RATIO)]


def test_pacing_priority_picks_first_when_several_are_due() -> None:
    policy = NudgePolicy(PACING)
    assert policy.choose(50.0, [PACE, TALK, MONOLOGUE]) == MONOLOGUE


def test_pacing_equal_or_lower_priority_waits_the_whole_gap() -> None:
    policy = NudgePolicy(PACING)
    policy.choose(50.0, [TALK])
    timeline = {float(t): [PACE] for t in range(51, 80)}
    assert run(policy, timeline)[0] == (70, RuleName.PACE)


def test_pacing_higher_priority_needs_only_the_priority_gap() -> None:
    policy = NudgePolicy(PACING)
    policy.choose(60.0, [PACE])
    timeline = {float(t): [MONOLOGUE] for t in range(61, 70)}
    assert run(policy, timeline) == [(65, RuleName.MONOLOGUE)]


def test_pacing_a_lingering_rule_is_heard_just_after_its_condition_ended() -> None:
    # The monologue became due at 61 and ended at 63: it may still be heard until 68.
    policy = NudgePolicy(PACING)
    policy.choose(60.0, [TALK])  # priority 6 < 7: a 5 s gap
    assert run(policy, {61.0: [MONOLOGUE], 62.0: [MONOLOGUE], 70.0: []}) == [
        (65, RuleName.MONOLOGUE)
    ]


def test_pacing_a_rule_that_stopped_being_true_is_dropped() -> None:
    policy = NudgePolicy(PACING)
    policy.choose(50.0, [TALK])
    # Pace was due at 55 only (the rep slowed down): not shown at 70.
    assert run(policy, {55.0: [PACE], 90.0: []}) == []


def test_pacing_rule_cooldown_holds() -> None:
    policy = NudgePolicy(PACING)
    timeline = {float(t): [TALK] for t in range(45, 200)}
    assert [t for t, _ in run(policy, timeline)] == [45, 135]


def test_pacing_text_rules_wait_for_the_reps_words_with_a_bound() -> None:
    policy = NudgePolicy(PACING)
    timeline = {float(t): [SUMMARIZE] for t in range(50, 70)}
    shown = run(policy, timeline, rep_text_in_flight=True)
    assert shown == [(50 + int(TEXT_WAIT_MAX_S), RuleName.SUMMARIZE)]
    policy = NudgePolicy(PACING)
    assert run(policy, timeline, rep_text_in_flight=False)[0] == (50, RuleName.SUMMARIZE)


def test_pacing_a_waiting_rule_does_not_hold_back_the_others() -> None:
    policy = NudgePolicy(PACING)
    assert policy.choose(50.0, [SUMMARIZE, PACE], rep_text_in_flight=True) == PACE
