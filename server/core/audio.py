"""Decoding of one connection's PCM frames into 16 kHz mono PCM16 per channel.

Pure computation (numpy, soxr's streaming resampler); never buffers more than a few
samples of state. Stereo input splits into left (rep) and right (customer).
"""

from __future__ import annotations

import numpy as np
import soxr  # type: ignore[import-untyped]

from models.errors import BadAudio
from models.wire import AudioFormat
from server.core.vad import RATE_HZ


class _Closed:
    """The resampler of an ended call's connection."""

    def resample_chunk(self, samples: object) -> object:
        raise RuntimeError("the call has ended: its audio is not decoded")

    def clear(self) -> None:
        pass


_CLOSED = _Closed()


class AudioInput:
    """Per-connection decoder: validates framing, resamples to 16 kHz, splits channels."""

    __slots__ = ("format", "_resampler")

    def __init__(self, audio_format: AudioFormat) -> None:
        self.format = audio_format
        self._resampler = (
            None
            if audio_format.rate == RATE_HZ
            else soxr.ResampleStream(
                audio_format.rate, RATE_HZ, audio_format.channels, dtype="int16", quality="HQ"
            )
        )

    def seconds(self, n_bytes: int) -> float:
        """Audio seconds that `n_bytes` of this format hold."""
        return n_bytes / (self.format.bytes_per_frame * self.format.rate)

    def check(self, data: bytes) -> None:
        """Raises `BadAudio` unless `data` holds whole sample frames of the declared format."""
        step = self.format.bytes_per_frame
        if len(data) % step:
            kind = "odd byte length" if step == 2 else "byte length not a multiple of 4"
            raise BadAudio(
                f"{kind} {len(data)} for pcm_s16le with {self.format.channels} channel(s)"
            )

    def decode(self, data: bytes) -> list[bytes]:
        """Decodes one binary frame.

        Returns:
            One bytes object of 16 kHz PCM16 per channel (left first).

        Raises:
            BadAudio: the frame does not hold whole sample frames of the declared format.
        """
        self.check(data)
        if self._resampler is None and self.format.channels == 1:
            return [data]
        samples = np.frombuffer(data, dtype="<i2").reshape(-1, self.format.channels)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        if self.format.channels == 1:
            return [samples.astype("<i2", copy=False).tobytes()]
        return [np.ascontiguousarray(samples[:, c]).astype("<i2").tobytes() for c in (0, 1)]

    def reset(self) -> None:
        """Forgets resampler history (after a pause nothing spans the gap)."""
        if self._resampler is not None:
            self._resampler.clear()

    def close(self) -> None:
        """The call ended: nothing more is decoded (late frames are only checked and
        counted); the resampler's filter state, 90 kB at 48 kHz, goes with it."""
        if self._resampler is not None:
            self._resampler = _CLOSED
