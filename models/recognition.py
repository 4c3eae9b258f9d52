"""Speech recognition results as the session core takes them: one typed value per result.

Pure data. The ASR adapter turns engine output into a `SegmentRecognized`; the core never
sees the engine. Word times are seconds from the start of the recognised audio, and
`SegmentRecognized.start_s` maps them to session audio time.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.wire import Role


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word.

    Attributes:
        w: The word as spoken, with attached punctuation, without surrounding spaces.
        start_s: Start, seconds from the start of the recognised audio.
        end_s: End, seconds from the start of the recognised audio.
        probability: Mean token probability of the word (1.0 when unknown).
    """

    w: str
    start_s: float
    end_s: float
    probability: float = 1.0

    def __post_init__(self) -> None:
        if not self.start_s <= self.end_s:
            raise ValueError(f"word {self.w!r} starts at {self.start_s} after its end {self.end_s}")

    def shifted(self, offset_s: float) -> Word:
        """Return the same word with both times moved by ``offset_s``."""
        return Word(self.w, self.start_s + offset_s, self.end_s + offset_s, self.probability)


@dataclass(frozen=True, slots=True)
class SegmentRecognized:
    """A partial or final hypothesis of one party's utterance, back from recognition.

    Attributes:
        speaker: The party whose utterance it is (rep or customer).
        segment: The utterance number the core gave the request (protocol `segment`).
        final: True for the end-of-utterance decode; False for a partial.
        start_s: Session audio time of the first sample of the recognised audio.
        words: The hypothesis, oldest word first (empty for silence or noise).
        language: Language used or detected, when known.
        language_probability: Probability of `language` (1.0 when it was forced).
    """

    speaker: Role
    segment: int
    final: bool
    start_s: float
    words: tuple[Word, ...] = ()
    language: str | None = None
    language_probability: float = 0.0

    def __post_init__(self) -> None:
        if self.speaker not in (Role.REP, Role.CUSTOMER):
            raise ValueError(f"speaker must be rep or customer, got {self.speaker!r}")
