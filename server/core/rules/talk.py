"""Rules on talk time and turn-taking: talk ratio, monologue, interruptions, patience, dead air.

Pure; thresholds and their sources are in models/playbook.py and coaching.md.
"""

from __future__ import annotations

from models.playbook import (
    DeadAirRule,
    InterruptionRule,
    MonologueRule,
    PatienceRule,
    RuleName,
    TalkRatioRule,
)
from server.core.rules.base import Candidate, Evidence, Measures, Rule

# A monologue nudge may still be heard this long after the monologue ended: "pause and ask
# a question" still makes sense right after it, and the policy may have held it back.
MONOLOGUE_LINGER_S = 5.0


class TalkRatio(Rule[TalkRatioRule]):
    name = RuleName.TALK_RATIO

    def evaluate(self, m: Measures) -> Evidence | None:
        rep_share, customer_share = m.turns.window_share()
        over = (
            m.turns.window_speech_s >= self.s.min_window_speech_s and rep_share > self.s.threshold
        )
        if not self.gate.due(over, recovered=rep_share < self.s.recover_below):
            return None
        return {
            "rep_share": rep_share,
            "window_s": self.s.window_s,
            "rep_pct": round(rep_share * 100),
            "customer_pct": round(customer_share * 100),
        }


class Monologue(Rule[MonologueRule]):
    """Once per monologue: the start of the one that was heard is remembered."""

    name = RuleName.MONOLOGUE
    linger_s = MONOLOGUE_LINGER_S

    def __init__(self, settings: MonologueRule) -> None:
        super().__init__(settings)
        self._heard_start_s: float | None = None

    def evaluate(self, m: Measures) -> Evidence | None:
        current = m.turns.current_monologue_s
        start_s = round(m.at_s - current, 1)
        if current < self.s.threshold_s or start_s == self._heard_start_s:
            return None
        return {
            "monologue_s": round(current),
            "threshold_s": self.s.threshold_s,
            "start_s": start_s,
        }

    def fired(self, candidate: Candidate, m: Measures) -> None:
        self._heard_start_s = float(candidate.evidence["start_s"])


class Interruption(Rule[InterruptionRule]):
    """Speaks on a new interruption when enough fell in the window."""

    name = RuleName.INTERRUPTION

    def __init__(self, settings: InterruptionRule) -> None:
        super().__init__(settings)
        self._seen = 0

    def evaluate(self, m: Measures) -> Evidence | None:
        turns = m.turns
        if len(turns.interruptions) <= self._seen:
            return None
        recent = turns.interruptions_since(m.at_s - self.s.window_s)
        if recent < self.s.count:
            return None
        last = turns.interruptions[-1]
        return {
            "count": recent,
            "window_s": self.s.window_s,
            "last_at": last.at_s,
            "overlap_s": last.overlap_s,
        }

    def fired(self, candidate: Candidate, m: Measures) -> None:
        self._seen = len(m.turns.interruptions)

    def muted(self, m: Measures) -> None:
        self._seen = len(m.turns.interruptions)


class Patience(Rule[PatienceRule]):
    name = RuleName.PATIENCE

    def evaluate(self, m: Measures) -> Evidence | None:
        if len(m.turns.gaps_s) < self.s.last_n:
            return None
        mean_gap = m.turns.mean_gap_s(self.s.last_n)
        assert mean_gap is not None
        quick = mean_gap < self.s.threshold_s
        if not self.gate.due(quick, recovered=not quick):
            return None
        return {"gap_s": mean_gap, "gap_ms": round(mean_gap * 1000), "last_n": self.s.last_n}


class DeadAir(Rule[DeadAirRule]):
    name = RuleName.DEAD_AIR

    def evaluate(self, m: Measures) -> Evidence | None:
        silence = m.turns.silence_s
        over = silence >= self.s.threshold_s
        if not self.gate.due(over, recovered=not over):
            return None
        return {"silence_s": round(silence)}
