"""One speaking party's audio path: 30 ms framing, VAD, smoothing, decided labels.

Pure: fed 16 kHz PCM16, it keeps decided speech labels until the session's joint
timeline takes them. Its clock is the frames it has delivered while live.
"""

from __future__ import annotations

from collections import deque

from server.core.vad import FRAME_BYTES, FrameVad, SpeechSmoother


class PartyStream:
    """The rep's or the customer's stream of decided speech labels."""

    __slots__ = ("_vad", "_smoother", "_buffer", "_labels", "_base", "_raw_frames")

    def __init__(self, vad: FrameVad | None = None) -> None:
        self._vad = vad or FrameVad()
        self._smoother = SpeechSmoother()
        self._buffer = bytearray()
        self._labels: deque[bool] = deque()
        self._base = 0  # joint frame index of _labels[0]
        self._raw_frames = 0  # frames framed since alignment (decided or not)

    def feed(self, pcm: bytes) -> None:
        """Frames 16 kHz PCM16 audio, runs the VAD, keeps decided labels."""
        buffer = self._buffer
        buffer += pcm
        n_frames = len(buffer) // FRAME_BYTES
        if not n_frames:
            return
        view = memoryview(buffer)
        is_voiced = self._vad.is_voiced
        push = self._smoother.push
        labels = self._labels
        for i in range(n_frames):
            label, count = push(is_voiced(bytes(view[i * FRAME_BYTES : (i + 1) * FRAME_BYTES])))
            if count:
                labels.extend((label,) * count)
        view.release()
        del buffer[: n_frames * FRAME_BYTES]
        self._raw_frames += n_frames

    def flush(self) -> None:
        """Decides every undecided frame as silence: the stream has ended."""
        label, count = self._smoother.flush()
        if count:
            self._labels.extend((label,) * count)
        self._buffer.clear()

    def align(self, frame: int) -> None:
        """Starts this party's clock at joint frame `frame`, forgetting everything before."""
        self._buffer.clear()
        self._labels.clear()
        self._smoother.flush()
        self._base = frame
        self._raw_frames = 0

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
            self._base += 1
        if self._base != frame or not labels:
            return None
        return labels[0]

    def pop(self) -> None:
        """Consumes the label that `peek` returned."""
        self._labels.popleft()
        self._base += 1
