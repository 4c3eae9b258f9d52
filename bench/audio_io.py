"""Audio loading shared by the benchmarks: any file soundfile reads, as 16 kHz mono float32;
the bundled calls as the 100 ms PCM16 frames a live client sends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from server.asr.jobs import SAMPLE_RATE_HZ

CALLS_DIR = Path(__file__).resolve().parents[1] / "client" / "calls"
# The bundled English calls (client/calls), in the order the live benches take them.
ENGLISH_CALLS = ("pushy", "good", "closed", "fillers")


def load_audio(path: Path) -> np.ndarray:
    """Reads `path`, downmixes to mono and resamples to 16 kHz."""
    audio, rate_hz = sf.read(path, dtype="float32")
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if rate_hz != SAMPLE_RATE_HZ:
        audio = soxr.resample(audio, rate_hz, SAMPLE_RATE_HZ)
    return np.ascontiguousarray(audio, dtype=np.float32)


def call_frames(
    names: tuple[str, ...] = ENGLISH_CALLS,
) -> dict[str, tuple[list[bytes], list[bytes]]]:
    """Each bundled call's rep and customer tracks, as 100 ms PCM16 frames (client.stream)."""
    from client.stream import read_audio

    calls = {}
    for name in names:
        rep = list(read_audio(CALLS_DIR / f"{name}.rep.flac").frames())
        customer = list(read_audio(CALLS_DIR / f"{name}.customer.flac").frames())
        calls[name] = (rep, customer)
    return calls
