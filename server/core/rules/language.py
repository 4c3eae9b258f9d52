"""Rules on what the rep says: open questions, summaries (LSD), pace, fillers, topics.

Pure; they read the speech coach's facts from final transcripts only. The ones that the
rep's next words could satisfy wait for those words (`waits_for_rep_text`).
"""

from __future__ import annotations

from models.playbook import (
    FillersRule,
    OpenQuestionRule,
    PaceRule,
    RuleName,
    SummarizeRule,
    TopicsRule,
)
from server.core.rules.base import Armed, Candidate, Evidence, Measures, Needs, Rule
from server.core.vad import FRAME_S


class OpenQuestion(Rule[OpenQuestionRule]):
    """Closed questions in a row, or no open question in a while of rep speech."""

    name = RuleName.OPEN_QUESTION
    needs = Needs.SPEECH
    waits_for_rep_text = True

    def __init__(self, settings: OpenQuestionRule) -> None:
        super().__init__(settings)
        self.no_open_gate = Armed()

    def evaluate(self, m: Measures) -> Evidence | None:
        assert m.speech is not None
        facts = m.speech.facts
        since_open_s = m.turns.rep_frames * FRAME_S - facts.last_open_rep_speech_s
        closed_run = facts.closed_in_a_row >= self.s.closed_in_a_row
        no_open = since_open_s >= self.s.no_open_for_s
        run_due = self.gate.due(closed_run, recovered=not closed_run)
        quiet_due = self.no_open_gate.due(no_open, recovered=not no_open)
        if not (run_due or quiet_due):
            return None
        return {
            "closed_in_a_row": facts.closed_in_a_row,
            "since_open_s": round(since_open_s),
            "open": facts.open_questions,
            "closed": facts.closed_questions,
        }

    def fired(self, candidate: Candidate, m: Measures) -> None:
        self.gate.disarm()
        self.no_open_gate.disarm()


class Summarize(Rule[SummarizeRule]):
    """LSD: a minute of customer speech without a summary from the rep."""

    name = RuleName.SUMMARIZE
    needs = Needs.SPEECH
    waits_for_rep_text = True

    def evaluate(self, m: Measures) -> Evidence | None:
        assert m.speech is not None
        facts = m.speech.facts
        unsummarized_s = m.turns.customer_frames * FRAME_S - facts.customer_speech_at_summary_s
        over = unsummarized_s >= self.s.customer_speech_s
        if not self.gate.due(over, recovered=not over):
            return None
        return {"customer_speech_s": round(unsummarized_s), "summaries": facts.summaries}


class Pace(Rule[PaceRule]):
    name = RuleName.PACE
    needs = Needs.SPEECH

    def evaluate(self, m: Measures) -> Evidence | None:
        assert m.speech is not None
        wpm = m.speech.wpm(self.s.window_s, self.s.min_speech_s)
        if wpm is None:
            return None
        due = self.gate.due(wpm > self.s.max_wpm, recovered=wpm < self.s.recover_below_wpm)
        return {"wpm": round(wpm), "max_wpm": self.s.max_wpm} if due else None


class Fillers(Rule[FillersRule]):
    """A cluster of fillers while fillers are a noticeable share of the rep's words."""

    name = RuleName.FILLERS
    needs = Needs.SPEECH

    def evaluate(self, m: Measures) -> Evidence | None:
        assert m.speech is not None
        recent = m.speech.fillers_in(m.at_s - self.s.cluster_window_s)
        clustered = recent >= self.s.cluster
        over = clustered and m.speech.filler_share > self.s.max_share
        if not self.gate.due(over, recovered=not clustered):
            return None
        return {"count": recent, "share_pct": round(m.speech.filler_share * 100, 1)}


class Topics(Rule[TopicsRule]):
    """Open checklist items near the end of the call, one reminder per item."""

    name = RuleName.TOPICS
    needs = Needs.SPEECH
    waits_for_rep_text = True

    def __init__(self, settings: TopicsRule) -> None:
        super().__init__(settings)
        self._reminded: set[str] = set()

    def evaluate(self, m: Measures) -> Evidence | None:
        speech = m.speech
        assert speech is not None
        if not speech.checklist.items:
            return None
        near_end = (
            m.at_s >= self.s.remind_after_s or speech.structure.closing_started_at_s is not None
        )
        if not near_end:
            return None
        for item in speech.checklist.open_items():
            if item.id not in self._reminded:
                return {"item": item.label.get(m.language), "item_id": item.id}
        return None

    def fired(self, candidate: Candidate, m: Measures) -> None:
        self._reminded.add(str(candidate.evidence["item_id"]))
