"""Playbook rules: measures in, nudge candidates out, with per-rule hysteresis.

Pure: evaluated on the joint timeline at each audio second and at turn events. A rule
that fired stays quiet until its measure has recovered (coaching.md, "How to nudge").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from models.playbook import Playbook
from models.wire import Severity
from server.core.prosody import ProsodySnapshot, is_monotone, volume_issue
from server.core.speech import SpeechCoach
from server.core.turns import Turns
from server.core.vad import FRAME_S

Evidence = Mapping[str, float | int | str]


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
        self._closed_run_armed = True
        self._no_open_armed = True
        self._summarize_armed = True
        self._pace_armed = True
        self._fillers_armed = True
        self._reminded: set[str] = set()
        self._monotone_armed = True
        self._volume_armed = True

    def candidates(
        self,
        turns: Turns,
        language: str,
        speech: SpeechCoach | None = None,
        prosody: ProsodySnapshot | None = None,
    ) -> list[Candidate]:
        """Every rule whose condition holds and that is armed, highest priority first.

        `speech` is None when nothing the rep says is transcribed (no model, or no
        consent to transcripts): the language rules then stay silent.
        """
        rules = self.playbook.rules
        out: list[Candidate] = []
        if speech is not None:
            self._speech_candidates(turns, language, speech, out)
        if prosody is not None:
            self._prosody_candidates(language, prosody, out)

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
                evidence: Evidence = {
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

    def _speech_candidates(
        self, turns: Turns, language: str, speech: SpeechCoach, out: list[Candidate]
    ) -> None:
        rules = self.playbook.rules
        facts = speech.facts
        rep_speech_s = turns.rep_frames * FRAME_S
        customer_speech_s = turns.customer_frames * FRAME_S

        q = rules.open_question
        if q.enabled:
            since_open_s = rep_speech_s - facts.last_open_rep_speech_s
            if facts.closed_in_a_row < q.closed_in_a_row:
                self._closed_run_armed = True
            if since_open_s < q.no_open_for_s:
                self._no_open_armed = True
            closed_run = self._closed_run_armed and facts.closed_in_a_row >= q.closed_in_a_row
            no_open = self._no_open_armed and since_open_s >= q.no_open_for_s
            if closed_run or no_open:
                evidence: Evidence = {
                    "closed_in_a_row": facts.closed_in_a_row,
                    "since_open_s": round(since_open_s),
                    "open": facts.open_questions,
                    "closed": facts.closed_questions,
                }
                out.append(_candidate("open_question", q, language, evidence))

        m = rules.summarize
        if m.enabled:
            unsummarized_s = customer_speech_s - facts.customer_speech_at_summary_s
            if unsummarized_s < m.customer_speech_s:
                self._summarize_armed = True
            elif self._summarize_armed:
                evidence = {
                    "customer_speech_s": round(unsummarized_s),
                    "summaries": facts.summaries,
                }
                out.append(_candidate("summarize", m, language, evidence))

        p = rules.pace
        if p.enabled:
            wpm = speech.wpm(p.window_s, p.min_speech_s)
            if wpm is not None and wpm < p.recover_below_wpm:
                self._pace_armed = True
            elif wpm is not None and wpm > p.max_wpm and self._pace_armed:
                out.append(
                    _candidate("pace", p, language, {"wpm": round(wpm), "max_wpm": p.max_wpm})
                )

        f = rules.fillers
        if f.enabled:
            recent = speech.fillers_in(turns.at_s - f.cluster_window_s)
            if recent < f.cluster:
                self._fillers_armed = True
            elif self._fillers_armed and speech.filler_share > f.max_share:
                evidence = {"count": recent, "share_pct": round(speech.filler_share * 100, 1)}
                out.append(_candidate("fillers", f, language, evidence))

        t = rules.topics
        if t.enabled and speech.checklist.items:
            near_end = (
                turns.at_s >= t.remind_after_s or speech.structure.closing_started_at_s is not None
            )
            if near_end:
                for item in speech.checklist.open_items():
                    if item.id not in self._reminded:
                        evidence = {"item": item.label.get(language), "item_id": item.id}
                        out.append(_candidate("topics", t, language, evidence))
                        break

    def _prosody_candidates(
        self, language: str, prosody: ProsodySnapshot, out: list[Candidate]
    ) -> None:
        rules = self.playbook.rules
        mono = rules.monotone
        if mono.enabled:
            flat = is_monotone(prosody, ratio=mono.ratio)
            if not flat:
                self._monotone_armed = True
            elif self._monotone_armed:
                evidence: Evidence = {
                    "spread_st": round(prosody.spread_st or 0.0, 1),
                    "baseline_st": round(prosody.baseline_spread_st or 0.0, 1),
                }
                out.append(_candidate("monotone", mono, language, evidence))
        v = rules.volume
        if v.enabled:
            issue = volume_issue(prosody, soft_db=v.soft_db, loud_db=v.loud_db)
            if issue is None:
                self._volume_armed = True
            elif self._volume_armed:
                words = {
                    "en": {"soft": "up a little", "loud": "a little softer"},
                    "nl": {"soft": "iets luider", "loud": "iets zachter"},
                }
                delta = (prosody.level_dbfs or 0.0) - (prosody.baseline_level_dbfs or 0.0)
                evidence = {
                    "direction": words[language][issue],
                    "delta_db": round(delta, 1),
                    "issue": issue,
                }
                out.append(_candidate("volume", v, language, evidence))

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
            case "open_question":
                self._closed_run_armed = False
                self._no_open_armed = False
            case "summarize":
                self._summarize_armed = False
            case "pace":
                self._pace_armed = False
            case "fillers":
                self._fillers_armed = False
            case "topics":
                self._reminded.add(str(candidate.evidence["item_id"]))
            case "monotone":
                self._monotone_armed = False
            case "volume":
                self._volume_armed = False


def _candidate(
    name: str,
    rule: object,
    language: str,
    evidence: Evidence,
) -> Candidate:
    text = rule.text.get(language).format_map(evidence)  # type: ignore[attr-defined]
    return Candidate(
        rule=name,
        priority=rule.priority,  # type: ignore[attr-defined]
        severity=rule.severity,  # type: ignore[attr-defined]
        text=text,
        evidence=dict(evidence),
    )
