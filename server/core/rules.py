"""Playbook rules: measures in, nudge candidates out, with per-rule hysteresis.

Pure: evaluated on the joint timeline at each audio second and at turn events. A rule
that fired stays quiet until its measure has recovered (coaching.md, "How to nudge").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.playbook import Playbook
from models.wire import Severity
from server.core.turns import Turns


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule that wants to speak now."""

    rule: str
    priority: int
    severity: Severity
    text: str
    evidence: dict[str, float | int | str] = field(default_factory=dict)


class RuleBook:
    """Applies one playbook's talk-time rules, remembering what has fired."""

    def __init__(self, playbook: Playbook) -> None:
        self.playbook = playbook
        self._talk_armed = True
        self._monologue_fired_at: float | None = None  # start of the monologue that fired
        self._interruptions_seen = 0
        self._patience_armed = True
        self._dead_air_armed = True

    def candidates(self, turns: Turns, language: str) -> list[Candidate]:
        """Every rule whose condition holds and that is armed, highest priority first."""
        rules = self.playbook.rules
        out: list[Candidate] = []

        r = rules.talk_ratio
        if r.enabled:
            rep_share, customer_share = turns.window_share()
            if rep_share < r.recover_below:
                self._talk_armed = True
            if (
                self._talk_armed
                and turns.window_speech_s >= r.min_window_speech_s
                and rep_share > r.threshold
            ):
                evidence = {
                    "rep_share": rep_share,
                    "window_s": r.window_s,
                    "rep_pct": round(rep_share * 100),
                    "customer_pct": round(customer_share * 100),
                }
                out.append(_candidate("talk_ratio", r, language, evidence))

        m = rules.monologue
        if m.enabled:
            current = turns.current_monologue_s
            start = round(turns.at_s - current, 1)
            if current >= m.threshold_s and self._monologue_fired_at != start:
                evidence = {"monologue_s": round(current), "threshold_s": m.threshold_s}
                out.append(_candidate("monologue", m, language, evidence))

        i = rules.interruption
        if i.enabled:
            total = len(turns.interruptions)
            if total > self._interruptions_seen:
                recent = turns.interruptions_since(turns.at_s - i.window_s)
                if recent >= i.count:
                    last = turns.interruptions[-1]
                    evidence = {
                        "count": recent,
                        "window_s": i.window_s,
                        "last_at": last.at_s,
                        "overlap_s": last.overlap_s,
                    }
                    out.append(_candidate("interruption", i, language, evidence))

        p = rules.patience
        if p.enabled and len(turns.gaps_s) >= p.last_n:
            mean_gap = turns.mean_gap_s(p.last_n)
            assert mean_gap is not None
            if mean_gap >= p.threshold_s:
                self._patience_armed = True
            elif self._patience_armed:
                evidence = {"gap_s": mean_gap, "gap_ms": round(mean_gap * 1000), "last_n": p.last_n}
                out.append(_candidate("patience", p, language, evidence))

        d = rules.dead_air
        if d.enabled:
            silence = turns.silence_s
            if silence < d.threshold_s:
                self._dead_air_armed = True
            elif self._dead_air_armed:
                evidence = {"silence_s": round(silence)}
                out.append(_candidate("dead_air", d, language, evidence))

        out.sort(key=lambda c: -c.priority)
        return out

    def fired(self, candidate: Candidate, turns: Turns) -> None:
        """Disarms a rule whose nudge was shown, until its measure recovers."""
        match candidate.rule:
            case "talk_ratio":
                self._talk_armed = False
            case "monologue":
                self._monologue_fired_at = round(turns.at_s - turns.current_monologue_s, 1)
            case "interruption":
                self._interruptions_seen = len(turns.interruptions)
            case "patience":
                self._patience_armed = False
            case "dead_air":
                self._dead_air_armed = False


def _candidate(
    name: str,
    rule: object,
    language: str,
    evidence: dict[str, float | int | str],
) -> Candidate:
    text = rule.text.get(language).format_map(evidence)  # type: ignore[attr-defined]
    return Candidate(
        rule=name,
        priority=rule.priority,  # type: ignore[attr-defined]
        severity=rule.severity,  # type: ignore[attr-defined]
        text=text,
        evidence=evidence,
    )
