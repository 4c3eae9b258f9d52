"""Audio loading shared by the benchmarks: any file soundfile reads, as 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from server.asr.jobs import SAMPLE_RATE_HZ


def load_audio(path: Path) -> np.ndarray:
    """Reads `path`, downmixes to mono and resamples to 16 kHz."""
    audio, rate_hz = sf.read(path, dtype="float32")
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if rate_hz != SAMPLE_RATE_HZ:
        audio = soxr.resample(audio, rate_hz, SAMPLE_RATE_HZ)
    return np.ascontiguousarray(audio, dtype=np.float32)
