"""Recorded calls from files: any common format decoded to one PCM16 track per party.

PyAV decodes (it ships FFmpeg's codecs: wav, flac, mp3, m4a/aac, ogg/opus, no system
ffmpeg needed). Coaching needs one channel per party, so a recording is a stereo file (left
rep, right customer) or two mono files; a single track of both voices is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import BadRecording
from models.wire import SUPPORTED_RATES_HZ

# Rates the live protocol does not take are resampled to this (as `client.stream.read_audio`).
FALLBACK_RATE_HZ = 16000
# Two channels this alike are one recording of both voices copied to both sides (a
# "stereo" export of a mono call): no channel says who spoke. Real two-microphone
# recordings, even in one room, stay far under it (the other voice arrives later and
# quieter; see attribution.py).
SAME_SOUND_CORRELATION = 0.98
ONE_TRACK_HINT = (
    "coaching needs one channel per party: give a stereo file (left rep, right customer)"
    " or two mono files (rep, customer)"
)


@dataclass(frozen=True, slots=True)
class Tracks:
    """A call as one mono PCM16 track per party, at one rate the live protocol takes."""

    rep: np.ndarray  # int16, shape (n,)
    customer: np.ndarray  # int16, shape (m,)
    rate_hz: int

    @property
    def duration_s(self) -> float:
        return max(len(self.rep), len(self.customer)) / self.rate_hz


def read_tracks(paths: Sequence[str | Path]) -> Tracks:
    """Reads a stereo recording (left rep, right customer) or two mono ones (rep, customer).

    Raises:
        BadRecording: a file that cannot be decoded, a single mono track, a stereo file
            with the same sound on both sides, more than two channels or files.
    """
    if len(paths) not in (1, 2):
        raise BadRecording(f"give one stereo file or two mono files, not {len(paths)}")
    if len(paths) == 1:
        samples, rate_hz = decode(paths[0])
        if samples.shape[1] == 1:
            raise BadRecording(f"{paths[0]} is a single mono track; {ONE_TRACK_HINT}")
        rep, customer = samples[:, 0], samples[:, 1]
        if _same_sound(rep, customer):
            raise BadRecording(f"{paths[0]} has the same sound on both channels; {ONE_TRACK_HINT}")
        return Tracks(np.ascontiguousarray(rep), np.ascontiguousarray(customer), rate_hz)
    decoded = [decode(path) for path in paths]
    for path, (samples, _) in zip(paths, decoded, strict=True):
        if samples.shape[1] != 1:
            raise BadRecording(f"{path} is stereo; with two files, give one mono file per party")
    rates = {rate for _, rate in decoded}
    if len(rates) > 1:  # one clock for both parties
        decoded = [decode(path, rate_hz=FALLBACK_RATE_HZ) for path in paths]
    (rep, rate_hz), (customer, _) = decoded
    return Tracks(np.ascontiguousarray(rep[:, 0]), np.ascontiguousarray(customer[:, 0]), rate_hz)


def decode(path: str | Path, *, rate_hz: int | None = None) -> tuple[np.ndarray, int]:
    """Decodes the first audio stream of a file to PCM16.

    Args:
        path: Any format FFmpeg reads.
        rate_hz: The rate wanted; None keeps a rate the protocol takes, else 16 kHz.

    Returns:
        int16 samples of shape (n, channels), channels 1 or 2, and their rate.

    Raises:
        BadRecording: not readable as audio, no audio stream, or more than two channels.
    """
    import av  # PyAV: a dependency of faster-whisper, with FFmpeg's codecs built in

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BadRecording(f"{path} has no audio")
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels
            if channels > 2:
                raise BadRecording(
                    f"{path} has {channels} channels; give stereo (left rep, right customer)"
                    " or one mono file per party"
                )
            source_rate = stream.codec_context.sample_rate
            if rate_hz is None:
                rate_hz = source_rate if source_rate in SUPPORTED_RATES_HZ else FALLBACK_RATE_HZ
            resampler = av.AudioResampler(
                format="s16", layout="stereo" if channels == 2 else "mono", rate=rate_hz
            )
            chunks = []
            for frame in container.decode(stream):
                chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except (av.FFmpegError, OSError) as exc:
        raise BadRecording(f"cannot read {path} as audio: {exc}") from exc
    packed = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0), np.int16)
    # Packed s16 comes as one row of interleaved samples.
    return packed.reshape(-1, channels).astype(np.int16, copy=False), rate_hz


def _same_sound(left: np.ndarray, right: np.ndarray) -> bool:
    if np.array_equal(left, right):
        return True
    a, b = left.astype(np.float64), right.astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    norm = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return norm > 0 and float(np.dot(a, b)) / norm >= SAME_SOUND_CORRELATION
