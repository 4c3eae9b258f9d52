"""One speaking party's audio path: 30 ms framing, VAD, smoothing, decided labels, utterances.

Pure: fed 16 kHz PCM16, it keeps decided speech labels until the session's joint
timeline takes them, and, when recognition is wanted, the audio of the current utterance
(never more), cut into partial and final recognition requests. Frame indexes are joint
frames of the session (30 ms of audio time each).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from server.core.prosody import ProsodyTracker
from server.core.second_stage import CONFIRM_FRAMES, CONFIRM_PROBABILITY, SecondStage
from server.core.vad import FRAME_BYTES, FRAME_S, MIN_SPEECH_FRAMES, FrameVad, SpeechSmoother

# Audio kept before a speech start and after a speech end: word onsets and tails that the
# VAD misses by a frame or two would otherwise be clipped from recognition.
PRE_ROLL_FRAMES = 7  # 210 ms
POST_ROLL_FRAMES = 7
# Whisper decodes at most 30 s; a long run without a pause is cut at a soft limit in the
# first pause of SOFT_CUT_PAUSE_FRAMES (no overlap: the next piece starts at the cut), or at
# the hard limit wherever it is (the next piece starts PRE_ROLL_FRAMES earlier). A single
# unvoiced frame is often inside a word: cutting there lost the word (bench_capacity, pushy).
SOFT_MAX_UTTERANCE_FRAMES = round(15 / FRAME_S)
SOFT_CUT_PAUSE_FRAMES = 3
HARD_MAX_UTTERANCE_FRAMES = round(25 / FRAME_S)
# A run of speech this long is cut for recognition at a pause shorter than the VAD's
# hangover (`PartyStream.pause_cut_frames`): sentences spoken with short breaths between them
# get their finals one by one, not all at the end of the run (no overlap, like a soft cut).
# Talk-time metrics still see one run: the hangover bridges the pause for them.
PAUSE_CUT_AFTER_FRAMES = round(3 / FRAME_S)
PAUSE_CUT_FRAMES = 8


# Level given to digital silence, so that levels stay finite.
SILENCE_DBFS = -100.0


class VoiceDetector(Protocol):
    def is_voiced(self, frame: bytes) -> bool: ...


class FrameInfo(NamedTuple):
    """One 30 ms frame as the joint timeline sees it beside its decided label."""

    pcm: bytes  # 16 kHz PCM16
    level_dbfs: float  # RMS level
    voiced: bool  # the raw voice decision, before smoothing


def frame_levels_dbfs(pcm: bytes | bytearray, n_frames: int) -> list[float]:
    """RMS level of each whole 30 ms frame of `pcm`, in dBFS (one numpy pass)."""
    samples = np.frombuffer(pcm, dtype="<i2", count=n_frames * FRAME_BYTES // 2)
    x = samples.reshape(n_frames, -1).astype(np.float32)
    power = np.einsum("ij,ij->i", x, x) * _POWER_SCALE
    levels: list[float] = (10.0 * np.log10(np.maximum(power, _SILENCE_POWER))).tolist()
    return levels


_POWER_SCALE = 1.0 / (FRAME_BYTES // 2 * 32768.0 * 32768.0)
_SILENCE_POWER = 10.0 ** (SILENCE_DBFS / 10.0)


@dataclass(frozen=True, slots=True)
class UtteranceAudio:
    """Audio of one utterance for recognition: a partial so far, or the final whole."""

    start_frame: int  # first frame of speech
    audio_start_frame: int  # first frame of `pcm` (pre-roll included)
    pcm: bytes
    final: bool

    @property
    def start_s(self) -> float:
        return round(self.audio_start_frame * FRAME_S, 3)


class PartyStream:
    """The rep's or the customer's stream of decided speech labels and utterances."""

    __slots__ = (
        "_vad",
        "_smoother",
        "_buffer",
        "_labels",
        "_frames",
        "_base",
        "_next_raw",
        "_keep_audio",
        "partial_every_frames",
        "_audio",
        "_audio_base",
        "_utt_start",
        "_last_partial_len",
        "_quiet_run",
        "pause_cut_frames",
        "prosody",
        "second_stage",
        "_pending",
    )

    def __init__(self, vad: VoiceDetector | None = None) -> None:
        self._vad = vad or FrameVad()
        self._smoother = SpeechSmoother()
        self._buffer = bytearray()
        self._labels: deque[bool] = deque()
        self._frames: deque[FrameInfo] = deque()  # from _base on: decided and undecided
        self._base = 0  # joint frame index of _labels[0]
        self._next_raw = 0  # joint frame index of the next frame to be framed
        self._keep_audio = False  # recognition wanted and consented (see `keep_audio`)
        self.partial_every_frames: int | None = round(1.0 / FRAME_S)
        self._audio = bytearray()
        self._audio_base = 0  # joint frame index of the first frame in _audio
        self._utt_start: int | None = None
        self._last_partial_len = 0
        self._quiet_run = 0  # raw unvoiced frames in a row, up to the last one decided
        self.pause_cut_frames: int | None = PAUSE_CUT_FRAMES  # None: runs end at the hangover
        self.prosody: ProsodyTracker | None = None  # the rep's pitch and level, while live
        # The second voice stage (Silero): spot checks, and every frame where it contradicts
        # webrtcvad (`SecondStage.confirming`).
        self.second_stage: SecondStage | None = None
        self._pending: deque[FrameInfo] = deque()  # frames waiting for the second stage

    @property
    def keep_audio(self) -> bool:
        """Whether utterance audio is held for recognition."""
        return self._keep_audio

    @keep_audio.setter
    def keep_audio(self, keep: bool) -> None:
        """Turning it off discards held audio at once; turning it on starts afresh.

        Audio held before a consent change must never be recognised after it, nor be
        spliced with later audio under a wrong start time.
        """
        if keep == self._keep_audio:
            return
        self._keep_audio = keep
        self._audio.clear()
        self._audio_base = self._next_raw
        self._utt_start = None
        self._last_partial_len = 0

    def feed(self, pcm: bytes) -> list[UtteranceAudio]:
        """Frames 16 kHz PCM16 audio, runs the VAD, keeps decided labels.

        With a `second_stage` confirming, frames webrtcvad calls voiced count only when it
        agrees; its decisions come in batches of `CONFIRM_FRAMES`. Otherwise webrtcvad
        decides at once, and the second stage spot-checks what it decided.

        Returns:
            Utterance audio due for recognition (empty unless `keep_audio`).
        """
        buffer = self._buffer
        buffer += pcm
        n_frames = len(buffer) // FRAME_BYTES
        out: list[UtteranceAudio] = []
        if not n_frames:
            return out
        view = memoryview(buffer)
        is_voiced = self._vad.is_voiced
        levels = frame_levels_dbfs(buffer, n_frames)
        decide = self._decide
        stage = self.second_stage
        for i in range(n_frames):
            frame = bytes(view[i * FRAME_BYTES : (i + 1) * FRAME_BYTES])
            info = FrameInfo(frame, levels[i], is_voiced(frame))
            if stage is None:
                decide(info, out)
            elif stage.confirming:
                self._pending.append(info)
                if len(self._pending) == CONFIRM_FRAMES:
                    self._confirm(stage, out)
            else:
                decide(info, out)
                stage.watch(info)
        view.release()
        del buffer[: n_frames * FRAME_BYTES]
        if self._keep_audio and self._utt_start is None:
            self._trim(self._next_raw - PRE_ROLL_FRAMES - MIN_SPEECH_FRAMES)
        return out

    def _confirm(self, stage: SecondStage, out: list[UtteranceAudio]) -> None:
        """Runs the second stage over the pending batch and decides its frames."""
        batch = list(self._pending)
        self._pending.clear()
        for info, p in zip(batch, stage.confirm(batch), strict=True):
            self._decide(info if p >= CONFIRM_PROBABILITY else info._replace(voiced=False), out)

    def _decide(self, info: FrameInfo, out: list[UtteranceAudio]) -> None:
        """Takes one frame with its final raw voice decision."""
        self._frames.append(info)
        voiced = info.voiced
        self._quiet_run = 0 if voiced else self._quiet_run + 1
        if self.prosody is not None:
            self.prosody.feed(info.pcm, voiced, self._next_raw * FRAME_S, info.level_dbfs)
        label, count = self._smoother.push(voiced)
        keep = self._keep_audio
        if keep:
            self._audio += info.pcm
        self._next_raw += 1
        if count:
            first = self._base + len(self._labels)
            self._labels.extend((label,) * count)
            if keep:
                self._on_decided(label, first, out)
        if keep and self._utt_start is not None:
            self._check_utterance(voiced, out)

    def _on_decided(self, label: bool, first: int, out: list[UtteranceAudio]) -> None:
        if label and self._utt_start is None:
            self._utt_start = first
            self._last_partial_len = 0
        elif not label and self._utt_start is not None:
            if first > self._utt_start:  # else a length cut already took this speech
                out.append(self._cut(first + POST_ROLL_FRAMES, final=True))
            self._utt_start = None

    def _check_utterance(self, voiced: bool, out: list[UtteranceAudio]) -> None:
        assert self._utt_start is not None
        length = self._next_raw - self._utt_start
        soft = (
            length >= SOFT_MAX_UTTERANCE_FRAMES and self._quiet_run >= SOFT_CUT_PAUSE_FRAMES
        ) or (
            length >= PAUSE_CUT_AFTER_FRAMES
            and self.pause_cut_frames is not None
            and self._quiet_run >= self.pause_cut_frames
        )
        if soft or length >= HARD_MAX_UTTERANCE_FRAMES:
            out.append(self._cut(self._next_raw, final=True, overlap=not soft))
            self._utt_start = self._next_raw
            self._last_partial_len = 0
            return
        every = self.partial_every_frames
        if every is not None and length - self._last_partial_len >= every:
            self._last_partial_len = length
            out.append(self._cut(self._next_raw, final=False))

    def _cut(self, end: int, *, final: bool, overlap: bool = True) -> UtteranceAudio:
        """The audio of the utterance so far, up to `end`; a final cut keeps
        `PRE_ROLL_FRAMES` before `end` for the next piece, unless `overlap` is off."""
        assert self._utt_start is not None
        start = max(self._audio_base, self._utt_start - PRE_ROLL_FRAMES)
        end = min(end, self._audio_base + len(self._audio) // FRAME_BYTES)
        pcm = bytes(
            self._audio[
                (start - self._audio_base) * FRAME_BYTES : (end - self._audio_base) * FRAME_BYTES
            ]
        )
        if final:
            self._trim(end - PRE_ROLL_FRAMES if overlap else end)
        return UtteranceAudio(
            start_frame=self._utt_start, audio_start_frame=start, pcm=pcm, final=final
        )

    def _trim(self, keep_from: int) -> None:
        drop = keep_from - self._audio_base
        if drop > 0:
            del self._audio[: drop * FRAME_BYTES]
            self._audio_base = keep_from

    def flush(self) -> list[UtteranceAudio]:
        """Decides every undecided frame as silence: the stream has ended."""
        out: list[UtteranceAudio] = []
        while self._pending:  # what waits for the second stage keeps webrtcvad's word
            self._decide(self._pending.popleft(), out)
        label, count = self._smoother.flush()
        first = self._base + len(self._labels)
        if count:
            self._labels.extend((label,) * count)
        if self._keep_audio and self._utt_start is not None:
            out.append(self._cut(first + count, final=True))
            self._utt_start = None
        self._buffer.clear()
        return out

    def align(self, frame: int) -> None:
        """Starts this party's clock at joint frame `frame`, forgetting everything before."""
        self._buffer.clear()
        self._labels.clear()
        self._frames.clear()
        self._pending.clear()
        if self.second_stage is not None:
            self.second_stage.restart()
        self._smoother.flush()
        self._base = frame
        self._next_raw = frame
        self._audio.clear()
        self._audio_base = frame
        self._utt_start = None
        self._quiet_run = 0

    def close(self) -> None:
        """The call ended: keeps this party's place on the joint timeline and drops what only
        live analysis holds (audio, frames, the second stage, prosody). An ended call stays
        in memory for its report and its evaluations, a thousand of them per node."""
        self.align(self._next_raw)
        self._buffer = bytearray()
        self._audio = bytearray()
        self._keep_audio = False
        self.second_stage = None
        self.prosody = None

    @property
    def heard_until(self) -> int:
        """Joint frame index up to which (exclusive) this party's audio arrived."""
        return self._next_raw

    def resume(self, frame: int) -> None:
        """The party's audio comes again, on a new connection, at joint frame `frame`. A
        clock left behind by audio that stopped (its frames were counted silent) jumps to
        `frame`: else every frame it sends from now on would be counted as missed. A clock
        ahead goes on."""
        if self._next_raw < frame:
            self.align(frame)

    @property
    def decided_end(self) -> int:
        """Joint frame index up to which (exclusive) labels are decided."""
        return self._base + len(self._labels)

    def peek(self, frame: int) -> bool | None:
        """The label of joint frame `frame`, or None if not decided yet.

        Labels older than `frame` were missed (the party lagged past the bound and was
        counted silent) and are dropped.
        """
        labels = self._labels
        while labels and self._base < frame:
            labels.popleft()
            self._frames.popleft()
            self._base += 1
        if self._base != frame or not labels:
            return None
        return labels[0]

    def frame(self) -> FrameInfo:
        """The frame whose label `peek` returned."""
        return self._frames[0]

    def ahead(self) -> deque[FrameInfo]:
        """The frames from the one `peek` returned on, decided or not (read only): a pause
        the smoother bridged is followed here by the voice that ended it."""
        return self._frames

    def pop(self) -> None:
        """Consumes the label that `peek` returned."""
        self._labels.popleft()
        self._frames.popleft()
        self._base += 1
