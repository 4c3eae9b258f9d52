"""What is said: questions, LSD, pace, fillers, checklist and structure from final transcripts.

Pure. Fed each final transcript of either party, in audio time; the rules read its state.
Partials are never analysed: they may still change.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from models.playbook import Playbook
from models.report import LanguageReport
from models.wire import ChecklistEntry, QuestionCounts, Word
from server.core.fillers import find_fillers
from server.core.lsd import follow_up_overlap, is_summary
from server.core.questions import QuestionAnalysis, QuestionKind, analyse_question
from server.core.topics import Checklist, Structure, Tick

# Customer utterances a follow-up question may pick words up from (Doorvragen).
FOLLOW_UP_CONTEXT_UTTERANCES = 3


@dataclass(frozen=True, slots=True)
class RepUtterance:
    """One final rep utterance with what was found in it."""

    at_s: float
    end_s: float
    text: str
    n_words: int
    speech_s: float
    question: QuestionAnalysis
    summary: bool
    follow_up: tuple[str, ...]
    fillers: tuple[str, ...]


@dataclass(slots=True)
class SpeechFacts:
    """Counters the rules and the report read."""

    open_questions: int = 0
    closed_questions: int = 0
    why_questions: int = 0
    closed_in_a_row: int = 0
    summaries: int = 0
    follow_ups: int = 0
    rep_words: int = 0
    rep_words_speech_s: float = 0.0  # the rep's finals' time from first to last word
    filler_count: int = 0
    last_open_rep_speech_s: float = 0.0  # rep speech time at the last open question
    customer_speech_at_summary_s: float = 0.0  # customer speech time at the last summary
    filler_times_s: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    pending_why: QuestionAnalysis | None = None
    fillers_seen: list[str] = field(default_factory=list)


class SpeechCoach:
    """Accumulates language-level facts of one session."""

    def __init__(self, playbook: Playbook, language: str) -> None:
        self.playbook = playbook
        self.language = "nl" if language == "nl" else "en"
        self.facts = SpeechFacts()
        self.checklist = Checklist(playbook.checklist, self.language)
        self.structure = Structure()
        self._recent_customer: deque[str] = deque(maxlen=FOLLOW_UP_CONTEXT_UTTERANCES)
        self._pace: deque[tuple[float, int, float]] = deque()  # (end_s, words, speech_s)

    def set_language(self, language: str) -> None:
        """The session's language became known (auto-detection)."""
        self.language = "nl" if language == "nl" else "en"
        self.checklist.language = self.language

    def hear(
        self,
        speaker: str,
        text: str,
        words: tuple[Word, ...],
        *,
        rep_speech_s: float,
        customer_speech_s: float,
    ) -> tuple[RepUtterance | None, list[Tick]]:
        """Takes one final transcript.

        Args:
            speaker: "rep" or "customer".
            text: The final text.
            words: The final's words, in session audio time.
            rep_speech_s: The rep's speech time so far (for "no open question for 3 min").
            customer_speech_s: The customer's speech time so far (for LSD).

        Returns:
            The analysed rep utterance (None for the customer) and new checklist ticks.
        """
        if not text.strip():
            return None, []
        start_s = words[0].start if words else 0.0
        end_s = words[-1].end if words else start_s
        ticks = self.checklist.hear(speaker, text, start_s)
        if speaker != "rep":
            self._recent_customer.append(text)
            return None, ticks
        language = self.language
        question = analyse_question(text, language)
        summary = is_summary(text, language)
        follow = follow_up_overlap(text, list(self._recent_customer), language)
        fillers = tuple(find_fillers(text, language))
        facts = self.facts
        if question.kind is QuestionKind.OPEN:
            facts.open_questions += 1
            facts.closed_in_a_row = 0
            facts.last_open_rep_speech_s = rep_speech_s
            if question.is_why:
                facts.why_questions += 1
                facts.pending_why = question
        elif question.kind is QuestionKind.CLOSED:
            facts.closed_questions += 1
            facts.closed_in_a_row += 1
        if summary:
            facts.summaries += 1
            facts.customer_speech_at_summary_s = customer_speech_s
        if follow.is_follow_up:
            facts.follow_ups += 1
        n_words = len(words) or len(text.split())
        facts.rep_words += n_words
        facts.filler_count += len(fillers)
        facts.fillers_seen.extend(fillers)
        facts.filler_times_s.extend([end_s] * len(fillers))
        speech_s = max(0.0, end_s - start_s)
        facts.rep_words_speech_s += speech_s
        if speech_s > 0:
            self._pace.append((end_s, n_words, speech_s))
        self.structure.hear_rep(text, start_s, language, is_summary=summary)
        utterance = RepUtterance(
            at_s=start_s,
            end_s=end_s,
            text=text,
            n_words=n_words,
            speech_s=speech_s,
            question=question,
            summary=summary,
            follow_up=follow.shared_words if follow.is_follow_up else (),
            fillers=fillers,
        )
        return utterance, ticks

    def wpm(self, window_s: float, min_speech_s: float) -> float | None:
        """Rep words per minute over the latest `window_s` of rep speech; None if too little."""
        words = 0
        speech_s = 0.0
        for _, n, s in reversed(self._pace):
            words += n
            speech_s += s
            if speech_s >= window_s:
                break
        while len(self._pace) > 50:
            self._pace.popleft()
        if speech_s < min_speech_s:
            return None
        return round(words * 60 / speech_s, 1)

    def report(self, at_s: float, checklist: tuple[ChecklistEntry, ...]) -> LanguageReport:
        """The language part of the scorecard at audio time `at_s`."""
        facts = self.facts
        words, speech_s = facts.rep_words, facts.rep_words_speech_s
        minutes = at_s / 60
        asked = facts.open_questions + facts.closed_questions
        structure = self.structure
        # A summary counts for the close when it came in the second half or no next step
        # followed it; an early recap is good listening, not a closing.
        closing_summary = structure.summary_at_s is not None and (
            structure.next_step_at_s is None or structure.summary_at_s >= at_s * 0.5
        )
        return LanguageReport(
            questions=QuestionCounts(open=facts.open_questions, closed=facts.closed_questions),
            why_questions=facts.why_questions,
            questions_per_10_min=round(asked / minutes * 10, 1) if minutes >= 1 else None,
            summaries=facts.summaries,
            follow_ups=facts.follow_ups,
            wpm=round(words * 60 / speech_s) if speech_s >= 10 else None,
            fillers=facts.filler_count,
            filler_share=round(self.filler_share, 4),
            filler_words=tuple(facts.fillers_seen),
            checklist=checklist,
            opening=structure.opening_at_s is not None,
            closing_summary=closing_summary,
            next_step=structure.next_step_at_s is not None,
        )

    def fillers_in(self, since_s: float) -> int:
        return sum(1 for t in self.facts.filler_times_s if t >= since_s)

    @property
    def filler_share(self) -> float:
        return self.facts.filler_count / self.facts.rep_words if self.facts.rep_words else 0.0
