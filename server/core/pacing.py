"""Nudge policy: which due rule the rep hears, and when. Warm-up, one global gap, a
cooldown per rule, priorities, and nothing important lost to the gap.

Pure. Sparse beats continuous: occasional cues about every 20 s were rated better than
continuous feedback (Rhema study, coaching.md "How to nudge"). But a gap must not swallow
the nudge that matters: a rule due inside the gap waits (it stays pending while it is
true, or for its `linger_s` after), a higher priority than the last nudge needs only the
short `priority_gap_s`, and rules that the rep's words in recognition could satisfy wait
for those words. docs/coaching-policy.md tells the whole policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.playbook import Pacing, RuleName
from server.core.rules import Candidate

# A rule that waits for the rep's utterance in recognition waits at most this long (audio
# seconds since it became due): recognition may be slow or degraded, the nudge must still come.
TEXT_WAIT_MAX_S = 8.0


@dataclass(slots=True)
class _Pending:
    candidate: Candidate
    due_since_s: float
    last_due_s: float


class NudgePolicy:
    """Chooses at most one nudge per moment from the rules that are due."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self._last_any_s: float | None = None
        self._last_priority = 0
        self._last_by_rule: dict[RuleName, float] = {}
        self._pending: dict[RuleName, _Pending] = {}

    def choose(
        self, at_s: float, due: list[Candidate], *, rep_text_in_flight: bool = False
    ) -> Candidate | None:
        """The candidate to show at `at_s`, if any; it is recorded as shown.

        Args:
            at_s: Session audio time.
            due: The rules that want to speak now (any order).
            rep_text_in_flight: An utterance of the rep is being spoken or recognised.
        """
        for c in due:
            held = self._pending.get(c.rule)
            self._pending[c.rule] = _Pending(c, held.due_since_s if held else at_s, at_s)
        for rule, held in list(self._pending.items()):
            if at_s - held.last_due_s > held.candidate.linger_s:
                del self._pending[rule]  # no longer true, and not recent enough to matter
        ranked = sorted(
            self._pending.values(), key=lambda p: (-p.candidate.priority, p.due_since_s)
        )
        for held in ranked:
            c = held.candidate
            if not self._allows(c, at_s):
                continue
            if (
                c.waits_for_rep_text
                and rep_text_in_flight
                and at_s - held.due_since_s < TEXT_WAIT_MAX_S
            ):
                continue  # the words being recognised may settle it
            self._record(c, at_s)
            return c
        return None

    def _allows(self, c: Candidate, at_s: float) -> bool:
        p = self.pacing
        if at_s < p.warmup_s:
            return False
        last = self._last_by_rule.get(c.rule)
        if last is not None and at_s - last < p.rule_cooldown_s:
            return False
        if self._last_any_s is None:
            return True
        gap_s = p.min_gap_s
        if c.priority > self._last_priority:
            gap_s = min(gap_s, p.priority_gap_s)
        return at_s - self._last_any_s >= gap_s

    def _record(self, c: Candidate, at_s: float) -> None:
        self._last_any_s = at_s
        self._last_priority = c.priority
        self._last_by_rule[c.rule] = at_s
        self._pending.pop(c.rule, None)
