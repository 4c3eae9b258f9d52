"""Rules on how the rep sounds: flat intonation and volume, against the rep's own baseline.

Pure; they read the prosody snapshot of the rep's last 30 s (prosody.py).
"""

from __future__ import annotations

from models.playbook import MonotoneRule, RuleName, VolumeRule
from server.core.prosody import is_monotone, volume_issue
from server.core.rules.base import Evidence, Measures, Needs, Rule

_DIRECTION = {
    "en": {"soft": "up a little", "loud": "a little softer"},
    "nl": {"soft": "iets luider", "loud": "iets zachter"},
}


class Monotone(Rule[MonotoneRule]):
    name = RuleName.MONOTONE
    needs = Needs.PROSODY

    def evaluate(self, m: Measures) -> Evidence | None:
        p = m.prosody
        assert p is not None
        flat = is_monotone(p, ratio=self.s.ratio)
        if not self.gate.due(flat, recovered=not flat):
            return None
        return {
            "spread_st": round(p.spread_st or 0.0, 1),
            "baseline_st": round(p.baseline_spread_st or 0.0, 1),
        }


class Volume(Rule[VolumeRule]):
    name = RuleName.VOLUME
    needs = Needs.PROSODY

    def evaluate(self, m: Measures) -> Evidence | None:
        p = m.prosody
        assert p is not None
        issue = volume_issue(p, soft_db=self.s.soft_db, loud_db=self.s.loud_db)
        if not self.gate.due(issue is not None, recovered=issue is None):
            return None
        assert issue is not None
        delta = (p.level_dbfs or 0.0) - (p.baseline_level_dbfs or 0.0)
        return {
            "direction": _DIRECTION[m.language][issue],
            "delta_db": round(delta, 1),
            "issue": issue,
        }
