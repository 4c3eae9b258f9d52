"""Nudge pacing: warm-up, one global gap, a cooldown per rule.

Pure. Sparse beats continuous: occasional cues about every 20 s were rated better than
continuous feedback (Rhema study, coaching.md "How to nudge").
"""

from __future__ import annotations

from models.playbook import Pacing


class NudgePacer:
    """Decides whether a rule may speak at a given audio time."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self._last_any_s: float | None = None
        self._last_by_rule: dict[str, float] = {}

    def allows(self, rule: str, at_s: float) -> bool:
        """Whether `rule` may nudge at `at_s` (audio seconds of the session)."""
        p = self.pacing
        if at_s < p.warmup_s:
            return False
        if self._last_any_s is not None and at_s - self._last_any_s < p.min_gap_s:
            return False
        last = self._last_by_rule.get(rule)
        return last is None or at_s - last >= p.rule_cooldown_s

    def record(self, rule: str, at_s: float) -> None:
        """Notes that `rule` nudged at `at_s`."""
        self._last_any_s = at_s
        self._last_by_rule[rule] = at_s
