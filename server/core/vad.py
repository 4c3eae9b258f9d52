"""Per-party voice activity: webrtcvad on 30 ms frames, then start/end smoothing.

Pure: no I/O, no clock. Frames are counted, never timed by the wall.
"""

from __future__ import annotations

import webrtcvad  # type: ignore[import-untyped]

RATE_HZ = 16000
FRAME_MS = 30
FRAME_S = FRAME_MS / 1000
FRAME_SAMPLES = RATE_HZ * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2

# A speech run must last 90 ms before it counts: shorter voiced blips are clicks and breaths.
MIN_SPEECH_FRAMES = 3
# Pauses under 300 ms inside an utterance (between words, at commas) do not end it.
HANGOVER_FRAMES = 10
# webrtcvad aggressiveness 0-3; 2 keeps soft word onsets while rejecting steady noise.
DEFAULT_AGGRESSIVENESS = 2


class SpeechSmoother:
    """Turns raw per-frame voiced flags into decided speech/silence labels.

    Labels come out in frame order, each exactly once, with at most `HANGOVER_FRAMES`
    of delay: a voiced run is speech once it reaches `MIN_SPEECH_FRAMES`; inside speech,
    an unvoiced run shorter than `HANGOVER_FRAMES` is bridged.
    """

    __slots__ = ("_in_speech", "_pending", "_min_speech", "_hangover")

    def __init__(
        self, min_speech_frames: int = MIN_SPEECH_FRAMES, hangover_frames: int = HANGOVER_FRAMES
    ) -> None:
        self._in_speech = False
        self._pending = 0
        self._min_speech = min_speech_frames
        self._hangover = hangover_frames

    def push(self, voiced: bool) -> tuple[bool, int]:
        """Feeds one raw frame flag.

        Returns:
            (label, count): `count` frames (oldest undecided first) are now decided as
            `label`; count 0 means the frame is still undecided.
        """
        if self._in_speech:
            if voiced:
                n = self._pending + 1
                self._pending = 0
                return True, n
            self._pending += 1
            if self._pending >= self._hangover:
                n = self._pending
                self._pending = 0
                self._in_speech = False
                return False, n
            return False, 0
        if voiced:
            self._pending += 1
            if self._pending >= self._min_speech:
                n = self._pending
                self._pending = 0
                self._in_speech = True
                return True, n
            return True, 0
        n = self._pending + 1
        self._pending = 0
        return False, n

    def flush(self) -> tuple[bool, int]:
        """Decides every pending frame as silence (the stream stops or pauses)."""
        n = self._pending
        self._pending = 0
        self._in_speech = False
        return False, n

    @property
    def undecided_frames(self) -> int:
        return self._pending


class FrameVad:
    """webrtcvad over 16 kHz PCM16 frames of 30 ms."""

    __slots__ = ("_vad",)

    def __init__(self, aggressiveness: int = DEFAULT_AGGRESSIVENESS) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)

    def is_voiced(self, frame: bytes) -> bool:
        """Whether one 30 ms frame (960 bytes) holds speech."""
        return bool(self._vad.is_speech(frame, RATE_HZ))
