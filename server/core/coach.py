"""The coaching of one call: rules, nudge policy, speech and voice analysis, what was kept.

Pure. Built as one unit and rebuilt as one unit: erase builds a new `Coach`, so nothing of
an erased call (a cooldown, an armed flag, a baseline, a nudge) shapes what follows.
"""

from __future__ import annotations

from typing import Any

import msgspec

from models.playbook import Playbook
from models.report import LanguageReport
from models.wire import (
    AudioCheck,
    Checklist,
    ChecklistEntry,
    Metrics,
    Nudge,
    QuestionCounts,
    Role,
    TalkShare,
    Transcript,
)
from server.core.finals import Finals
from server.core.mic_check import Verdict
from server.core.pacing import NudgePolicy
from server.core.prosody import ProsodySnapshot, ProsodyTracker
from server.core.questions import QuestionKind
from server.core.rules import Candidate, Measures, Needs, Rule, build_rules
from server.core.speech import SpeechCoach
from server.core.turns import Turns
from server.core.vad import FRAME_S

# The rep's prosody snapshot is refreshed this often (audio seconds): a 30 s spread moves
# slowly, and a snapshot costs percentiles over the window.
PROSODY_EVERY_S = 5.0
# Every other voiced frame is plenty for a 30 s pitch spread (bench/bench_prosody.py).
PITCH_EVERY_FRAMES = 2
# A microphone found unreliable keeps the talk-time rules silent until it has been reliable
# this long, twice as long each time it turned unreliable again: at the edge its verdict
# flaps (babble at 5 dB SNR: unreliable at 16, 38 and 130 s, reliable at 32 and 88 s), and
# the figures of the unreliable stretch are still in the rules' windows when it turns (false
# interruption nudges at 88 and 127 s; bench/bench_rooms.py).
RELIABLE_AGAIN_S = 30.0


class Coach:
    """Everything one call's analysis keeps, from the first live frame to the report."""

    def __init__(self, playbook: Playbook, language: str) -> None:
        self.playbook = playbook
        self.rules: list[Rule[Any]] = build_rules(playbook)
        self.policy = NudgePolicy(playbook.pacing)
        self.speech = SpeechCoach(playbook, language)
        voice = any(r.needs is Needs.PROSODY for r in self.rules)
        self.prosody = ProsodyTracker(pitch_every_frames=PITCH_EVERY_FRAMES) if voice else None
        self._prosody_cache: ProsodySnapshot | None = None
        self._prosody_cache_at_s = 0.0
        self.transcript = Finals()  # in the order they came, compressed in blocks
        self.nudges: list[Nudge] = []  # rules' and whispers', in the order shown
        self.mic_verdicts: dict[Role, Verdict | None] = {Role.REP: None, Role.CUSTOMER: None}
        self.audio_checks: list[AudioCheck] = []  # each change of a verdict, for the report
        self._reliable_from_s = 0.0  # audio time from which talk-time rules may speak again
        self._unreliable_spells = 0  # times a microphone turned unreliable
        self.checklist_sent = False

    # --- rules --------------------------------------------------------------------------

    def audio_reliable(self, at_s: float) -> bool:
        """Whether talk-time figures can rest on both microphones at audio time `at_s`."""
        return (
            all(v is None or v.reliable for v in self.mic_verdicts.values())
            and at_s >= self._reliable_from_s
        )

    def set_verdict(self, role: Role, verdict: Verdict, at_s: float) -> None:
        """Takes a microphone's new verdict at audio time `at_s`."""
        before = self.mic_verdicts[role]
        self.mic_verdicts[role] = verdict
        if not verdict.reliable and (before is None or before.reliable):
            self._unreliable_spells += 1
        if before is not None and not before.reliable and verdict.reliable:
            hold_s = RELIABLE_AGAIN_S * 2 ** (self._unreliable_spells - 1)
            self._reliable_from_s = at_s + hold_s

    def decide(
        self, turns: Turns, language: str, *, speech_on: bool, rep_text_in_flight: bool
    ) -> Candidate | None:
        """The nudge the rep hears now, if any (the rule that made it is told).

        Args:
            turns: The joint timeline's measures.
            language: "en" or "nl", for the texts.
            speech_on: The rep's words are transcribed (model and consent): language rules
                may speak; without it they stay silent.
            rep_text_in_flight: The rep's latest words are still being recognised.

        Rules on talk time stay silent while a microphone cannot support them (the audio
        check says so to the participants instead).
        """
        m = Measures(
            at_s=turns.at_s,
            language=language,
            turns=turns,
            speech=self.speech if speech_on else None,
            prosody=self._prosody_snapshot(turns.at_s),
        )
        due = []
        audio_ok = self.audio_reliable(m.at_s)
        for rule in self.rules:
            if (rule.needs is Needs.SPEECH and m.speech is None) or (
                rule.needs is Needs.PROSODY and m.prosody is None
            ):
                continue
            if rule.needs is Needs.AUDIO and not audio_ok:
                rule.muted(m)
                continue
            evidence = rule.evaluate(m)
            if evidence is not None:
                due.append(rule.candidate(evidence, language))
        chosen = self.policy.choose(m.at_s, due, rep_text_in_flight=rep_text_in_flight)
        if chosen is not None:
            next(r for r in self.rules if r.name is chosen.rule).fired(chosen, m)
        return chosen

    def _prosody_snapshot(self, at_s: float) -> ProsodySnapshot | None:
        if self.prosody is None:
            return None
        if self._prosody_cache is None or at_s - self._prosody_cache_at_s >= PROSODY_EVERY_S:
            self._prosody_cache = self.prosody.snapshot()
            self._prosody_cache_at_s = at_s
        return self._prosody_cache

    # --- what was said ------------------------------------------------------------------

    def hear(self, message: Transcript, turns: Turns, language: str) -> tuple[Transcript, bool]:
        """Takes a final transcript into the language coach.

        Returns:
            The transcript with the rep's question marked (and a tip for a "why"
            question), and whether it ticked a checklist item.
        """
        if self.speech.language != language:
            self.speech.set_language(language)
        utterance, ticks = self.speech.hear(
            message.speaker,
            message.text,
            message.words,
            rep_speech_s=turns.rep_frames * FRAME_S,
            customer_speech_s=turns.customer_frames * FRAME_S,
        )
        if utterance is not None and utterance.question.kind is not QuestionKind.NONE:
            tip = None
            if utterance.question.is_why:
                tip = self.playbook.rules.open_question.why_tip.get(language)
            message = msgspec.structs.replace(
                message, question=utterance.question.kind.value, tip=tip
            )
        if utterance is not None and utterance.summary:
            message = msgspec.structs.replace(message, summary=True)
        self.transcript.append(message)
        return message, bool(ticks)

    def checklist(self, language: str) -> Checklist:
        ticks = self.speech.checklist.ticks
        return Checklist(
            items=tuple(
                ChecklistEntry(
                    id=item.id,
                    label=item.label.get(language),
                    done=item.id in ticks,
                    at=ticks[item.id].at_s if item.id in ticks else None,
                    speaker=ticks[item.id].speaker if item.id in ticks else None,
                )
                for item in self.playbook.checklist
            )
        )

    # --- figures ------------------------------------------------------------------------

    def metrics(self, turns: Turns) -> Metrics:
        rules = self.playbook.rules
        rep, customer = turns.talk_share()
        rep_w, customer_w = turns.window_share()
        facts = self.speech.facts
        return Metrics(
            at=turns.at_s,
            talk=TalkShare(rep=rep, customer=customer),
            talk_window=TalkShare(rep=rep_w, customer=customer_w),
            longest_monologue_s=turns.longest_monologue_s,
            current_monologue_s=turns.current_monologue_s,
            interruptions=len(turns.interruptions),
            overlaps=turns.overlaps,
            mean_response_gap_s=turns.mean_gap_s(rules.patience.last_n),
            silence_s=turns.silence_s,
            questions=QuestionCounts(open=facts.open_questions, closed=facts.closed_questions),
            wpm=self.speech.wpm(rules.pace.window_s, rules.pace.min_speech_s),
            fillers=facts.filler_count,
        )

    def language_report(self, at_s: float, language: str) -> LanguageReport:
        return self.speech.report(at_s, self.checklist(language).items)
