"""Value types shared by the ASR engine, commit policy and pool: jobs in, recognitions out.

Pure data: no model, no asyncio. Times in a ``Recognition`` are seconds relative to the
start of the audio that was recognised; ``AsrJob.start_s`` maps them to session audio time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from models.recognition import Word

SAMPLE_RATE_HZ = 16_000

Speaker = Literal["rep", "customer"]

__all__ = ["SAMPLE_RATE_HZ", "AsrJob", "Recognition", "Speaker", "Word"]


@dataclass(frozen=True, slots=True)
class Recognition:
    """The outcome of recognising one stretch of audio.

    Attributes:
        text: Recognised text; empty for silence, noise or a rejected hypothesis.
        words: Words with times relative to the audio start (empty when text is empty).
        language: Language code used or detected (``en`` for English-only models).
        language_probability: Probability of ``language`` (1.0 when it was forced).
        avg_logprob: Average token log probability of the hypothesis.
        no_speech_prob: Whisper's probability that the audio holds no speech.
        compression_ratio: zlib compression ratio of the raw text; high means repetitive.
        duration_s: Length of the audio recognised.
        compute_s: Wall time the recognition took.
        rejected: Why the text was blanked (``quiet``, ``no_speech``, ``low_confidence``,
            ``hallucination``), or None when it was kept.
    """

    text: str
    words: tuple[Word, ...] = ()
    language: str = "en"
    language_probability: float = 1.0
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    duration_s: float = 0.0
    compute_s: float = 0.0
    rejected: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class AsrJob:
    """A request to recognise the current utterance of one party.

    Attributes:
        session_id: The session the audio belongs to.
        speaker: ``rep`` or ``customer``.
        segment: Utterance number within the session (protocol ``segment``).
        final: True for the end-of-utterance decode (never dropped), False for a partial.
        audio: The whole utterance so far, mono at 16 kHz: PCM16 (int16, what the server
            queues: half the memory of float32 while a job waits) or float32 in [-1, 1].
        start_s: Session audio time of the utterance start.
        language: Forced language, or None to detect.
        submitted_at_s: ``time.monotonic()`` at submission, for latency statistics.
        prompt: Optional text that preceded this utterance, to condition the decoder.
    """

    session_id: str
    speaker: Speaker
    segment: int
    final: bool
    audio: np.ndarray = field(repr=False)
    start_s: float
    language: str | None
    submitted_at_s: float
    prompt: str | None = None

    def __post_init__(self) -> None:
        if self.speaker not in ("rep", "customer"):
            raise ValueError(f"speaker must be 'rep' or 'customer', got {self.speaker!r}")
        if self.audio.ndim != 1 or self.audio.dtype not in (np.int16, np.float32):
            raise ValueError(
                f"audio must be 1-D int16 or float32, got {self.audio.ndim}-D {self.audio.dtype}"
            )

    @property
    def samples(self) -> np.ndarray:
        """The audio as float32 in [-1, 1], what recognition takes (made when it runs)."""
        if self.audio.dtype == np.float32:
            return self.audio
        return self.audio.astype(np.float32) * np.float32(1 / 32768)

    @property
    def stream(self) -> tuple[str, str]:
        """The (session, speaker) pair whose jobs must run in order."""
        return (self.session_id, self.speaker)

    @property
    def key(self) -> tuple[str, str, int]:
        """The (session, speaker, segment) triple that partials coalesce on."""
        return (self.session_id, self.speaker, self.segment)

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.audio) / SAMPLE_RATE_HZ
