"""When the second voice stage (Silero) runs on one microphone, and what it found there.

Pure: it is handed frames and asks the injected `VoiceConfirmer`; no clock (batches of
audio frames count time). webrtcvad decides alone while Silero agrees with it, checked on
one batch now and then; where Silero contradicts it on frames loud enough to be the party's
own voice (keyboards, clicks, loud noise), Silero decides every batch of frames (half of
them by listening, half by inheriting the verdict it gave just before) until it has not
contradicted webrtcvad for a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from server.core.party import FrameInfo


class VoiceConfirmer(Protocol):
    """A second, noise-robust voice stage that confirms webrtcvad's "voiced" frames."""

    def probabilities(self, pcm: bytes) -> list[float]:
        """Speech probability per 30 ms frame of `CONFIRM_FRAMES` frames of 16 kHz PCM16."""
        ...

    def reset(self) -> None:
        """Forgets the stream so far (a gap in the audio)."""
        ...


# The second stage decides 16 frames (480 ms, 15 Silero windows of 512 samples) at a time:
# batching is what makes it affordable; it delays this party's labels by up to 480 ms.
CONFIRM_FRAMES = 16
CONFIRM_PROBABILITY = 0.5
# While webrtcvad decides alone, Silero checks one batch in 4 at most (about every 2 s): the
# first that holds `MIN_LOUD_FRAMES` frames webrtcvad voiced at a level that could be the
# party's own: within `LOUD_MARGIN_DB` of it (attribution.OWN_MARGIN_DB), or over
# `NO_VOICE_DBFS` (attribution's) before their voice level is known. Quieter frames are
# leaked voice or background talk, which attribution judges by level whatever Silero says.
# Every 4 checks that agree with webrtcvad double the spacing, up to one batch in 16 (about
# every 8 s): noise that starts late in a call is found within seconds, and a clean
# microphone costs little (Silero runs on 4-8% of its batches on the bench's calls).
SPOT_EVERY_BATCHES = 4
SPOT_BACKOFF_CHECKS = 4
SPOT_MAX_EVERY_BATCHES = 16
MIN_LOUD_FRAMES = 2
LOUD_MARGIN_DB = 6.0
NO_VOICE_DBFS = -65.0
# A batch contradicts webrtcvad when Silero is sure there is no voice in any of those loud
# frames: a probability under 0.2 (clicks score 0.00-0.07; the soft ends of words just within
# the margin 0.1-0.48). On the bench's calls, with Silero run on every batch: clean, leaking,
# babble and background-talk microphones give no contradiction, pink noise at 5 dB SNR
# 14-50% of the loud batches, keyboard clicks at 5 dB 21-64%, at 10 dB 2-13%. One
# contradiction lets Silero decide every batch; 20 s (42 batches) without one hands the
# microphone back to webrtcvad. Babble and a neighbouring pair are voices: Silero passes them
# (0.97 of babble frames), and attribution, not Silero, tells them from the party by level.
CONTRADICTION_PROBABILITY = 0.2
HOLD_BATCHES = 42
# While confirming, Silero listens to every other batch that webrtcvad voiced; the batch
# between inherits its verdict: voice if Silero heard voice in the last 240 ms of the batch
# before, else none. Noise and speech both last longer than a batch, so this halves the cost
# where Silero runs all the time (keys at 5 dB SNR: 0.8 of the batches) for under a point of
# talk share on the bench (keys, pink noise at 5 and 10 dB). Inheriting from the last 30 ms
# only loses 1-3 points (onsets of speech that follows noise); listening to one batch in 3
# adds false interruptions.
INHERIT_FRAMES = 8


class SecondStage:
    """The second voice stage of one microphone: spot checks, and confirming every batch."""

    __slots__ = (
        "confirmer",
        "confirming",
        "own_dbfs",
        "batches_run",
        "checked_batches",
        "contradicted_batches",
        "_batch",
        "_since_spot",
        "_agreed",
        "_since_contradiction",
        "_inherit",
        "_heard_voice",
    )

    def __init__(self, confirmer: VoiceConfirmer) -> None:
        self.confirmer = confirmer
        self.confirming = False  # Silero decides every frame (else webrtcvad, spot-checked)
        # The party's own voice level (attribution's), set by the caller as it is learned.
        self.own_dbfs: float | None = None
        # What it did and found: batches Silero ran on, those holding loud voiced frames,
        # and those where it found voice in none of them.
        self.batches_run = 0
        self.checked_batches = 0
        self.contradicted_batches = 0
        self._batch: list[FrameInfo] = []  # frames webrtcvad decided since the last batch
        self._since_spot = SPOT_EVERY_BATCHES  # the first loud batch is checked at once
        self._agreed = 0  # spot checks in a row that agreed with webrtcvad
        self._since_contradiction = 0
        self._inherit = False  # the next voiced batch inherits the verdict of the one before
        self._heard_voice = False  # Silero heard voice at the end of the last batch it ran on

    def watch(self, info: FrameInfo) -> None:
        """Takes a frame webrtcvad decided alone; spot-checks a batch of them now and then.

        After it, `confirming` may be on: the following frames go to `confirm`.
        """
        batch = self._batch
        batch.append(info)
        if len(batch) < CONFIRM_FRAMES:
            return
        self._since_spot += 1
        if self._since_spot >= self.spot_every_batches and (
            self._loud_frames(batch) >= MIN_LOUD_FRAMES
        ):
            self._since_spot = 0
            self.confirmer.reset()  # spot checks lie apart: each starts afresh
            self._agreed += 1  # undone by a contradiction
            self._weigh(batch, self._run(batch))
        batch.clear()

    @property
    def spot_every_batches(self) -> int:
        """The spacing of spot checks now: wider the longer Silero has agreed."""
        doublings = min(self._agreed // SPOT_BACKOFF_CHECKS, 8)
        return min(SPOT_EVERY_BATCHES << doublings, SPOT_MAX_EVERY_BATCHES)

    def confirm(self, batch: Sequence[FrameInfo]) -> list[float]:
        """Silero's speech probability for each frame of a batch of `CONFIRM_FRAMES`.

        Of a batch it inherits a verdict for: 1.0 (webrtcvad's word stands) or 0.0. After
        it, `confirming` may be off again: the following frames go to `watch`.
        """
        self._since_contradiction += 1  # undone by a contradiction in this batch
        if not any(f.voiced for f in batch):
            self.confirmer.reset()  # nothing to confirm: the state starts afresh after it
            probabilities = [0.0] * len(batch)
        elif self._inherit:
            self._inherit = False
            self.confirmer.reset()  # Silero did not hear this batch: its next one starts afresh
            probabilities = [1.0 if self._heard_voice else 0.0] * len(batch)
        else:
            probabilities = self._run(batch)
            self._weigh(batch, probabilities)
            self._inherit = True
            self._heard_voice = max(probabilities[-INHERIT_FRAMES:]) >= CONFIRM_PROBABILITY
        if self._since_contradiction >= HOLD_BATCHES:
            self.confirming = False
            self._since_spot = self._agreed = 0  # spot checks close together again
        return probabilities

    def restart(self) -> None:
        """A gap in the audio: the batch under way and Silero's state are dropped."""
        self._batch.clear()
        self._inherit = False
        self.confirmer.reset()

    def _run(self, batch: Sequence[FrameInfo]) -> list[float]:
        self.batches_run += 1
        return self.confirmer.probabilities(b"".join(f.pcm for f in batch))

    def _loud(self, info: FrameInfo) -> bool:
        own = self.own_dbfs
        floor = NO_VOICE_DBFS if own is None else own - LOUD_MARGIN_DB
        return info.voiced and info.level_dbfs >= floor

    def _loud_frames(self, batch: Sequence[FrameInfo]) -> int:
        return sum(1 for f in batch if self._loud(f))

    def _weigh(self, batch: Sequence[FrameInfo], probabilities: Sequence[float]) -> None:
        """Counts a batch as evidence: does Silero hear voice where webrtcvad did, loud?"""
        loud = [p for f, p in zip(batch, probabilities, strict=True) if self._loud(f)]
        if len(loud) < MIN_LOUD_FRAMES:
            return
        self.checked_batches += 1
        if max(loud) < CONTRADICTION_PROBABILITY:
            self.contradicted_batches += 1
            self._since_contradiction = 0
            self._agreed = 0
            if not self.confirming:
                self.confirming = True
                self._inherit = False
                self.confirmer.reset()  # confirmed batches follow on from the next frame
