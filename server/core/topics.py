"""Playbook checklist and conversation structure (gespreksstructuur) from final transcripts.

Pure text matching on whole words, case- and punctuation-insensitive. A checklist item is
ticked when either party says one of its phrases: "what budget do you have" and "our
budget is tight" both cover the budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.playbook import ChecklistItem

_WORD = re.compile(r"[\w']+", re.UNICODE)

# Structure cues (coaching.md, "Conversation structure"): opening = purpose, agenda, time;
# closing = summary, agreements, next step.
OPENING_CUES = {
    "en": (
        "purpose of this call",
        "purpose of today",
        "the goal of this call",
        "agenda",
        "what i'd like to do today",
        "what i would like to do today",
        "plan for this call",
        "i'd like to start by",
        "we have about",
        "minutes today",
        "the reason i'm calling",
        "the reason for my call",
        "today i'd like to",
    ),
    "nl": (
        "doel van dit gesprek",
        "doel van vandaag",
        "agenda",
        "ik wil vandaag",
        "ik zou vandaag graag",
        "reden van mijn telefoontje",
        "reden dat ik bel",
        "we hebben ongeveer",
        "minuten de tijd",
        "het plan voor dit gesprek",
        "ik wil graag beginnen met",
    ),
}
NEXT_STEP_CUES = {
    "en": (
        "next step",
        "next steps",
        "follow up",
        "follow-up",
        "i'll send",
        "i will send",
        "send you",
        "schedule a",
        "set up a call",
        "book a",
        "meet again",
        "next week",
        "let's agree",
        "we agreed",
        "action items",
    ),
    "nl": (
        "volgende stap",
        "vervolgstap",
        "ik stuur",
        "stuur ik",
        "stuur u",
        "afspraak",
        "volgende week",
        "plannen we",
        "inplannen",
        "we spreken af",
        "afgesproken",
        "actiepunten",
        "terugbellen",
    ),
}


def normalise(text: str) -> str:
    """Lowercased words joined by single spaces, with spaces around, for phrase search."""
    return " " + " ".join(_WORD.findall(text.lower().replace("’", "'"))) + " "


def contains_phrase(normalised_text: str, phrase: str) -> bool:
    """Whole-word phrase search in a `normalise`d text."""
    return normalise(phrase) in normalised_text


@dataclass(frozen=True, slots=True)
class Tick:
    """A checklist item covered at an audio time, by a party."""

    item: str
    at_s: float
    speaker: str
    phrase: str


class Checklist:
    """Ticks the playbook's checklist items off as they are heard."""

    def __init__(self, items: tuple[ChecklistItem, ...], language: str) -> None:
        self.items = items
        self.language = language
        self.ticks: dict[str, Tick] = {}

    def hear(self, speaker: str, text: str, at_s: float) -> list[Tick]:
        """Returns the items this utterance ticks off for the first time."""
        norm = normalise(text)
        new: list[Tick] = []
        for item in self.items:
            if item.id in self.ticks:
                continue
            for phrase in item.phrases.get(self.language):
                if contains_phrase(norm, phrase):
                    tick = Tick(item=item.id, at_s=at_s, speaker=speaker, phrase=phrase)
                    self.ticks[item.id] = tick
                    new.append(tick)
                    break
        return new

    def open_items(self) -> list[ChecklistItem]:
        return [item for item in self.items if item.id not in self.ticks]


@dataclass(slots=True)
class Structure:
    """Which parts of a good call structure the rep has shown, and when."""

    opening_at_s: float | None = None
    summary_at_s: float | None = None  # the last summary (LSD) by the rep
    next_step_at_s: float | None = None
    closing_started_at_s: float | None = None

    def hear_rep(
        self,
        text: str,
        at_s: float,
        language: str,
        *,
        is_summary: bool,
        opening_window_s: float = 90.0,
    ) -> None:
        norm = normalise(text)
        lang = "nl" if language == "nl" else "en"
        if self.opening_at_s is None and at_s <= opening_window_s:
            if any(contains_phrase(norm, cue) for cue in OPENING_CUES[lang]):
                self.opening_at_s = at_s
        if is_summary:
            self.summary_at_s = at_s
        if any(contains_phrase(norm, cue) for cue in NEXT_STEP_CUES[lang]):
            self.next_step_at_s = at_s
        # A closing needs both a summary and a next step; one "follow up" mid-pitch is not one.
        if (
            self.closing_started_at_s is None
            and self.summary_at_s is not None
            and self.next_step_at_s is not None
        ):
            self.closing_started_at_s = max(self.summary_at_s, self.next_step_at_s)

    @property
    def has_closing(self) -> bool:
        """A closing: a next step agreed, with a summary before or around it."""
        return self.next_step_at_s is not None and self.summary_at_s is not None
