"""Helpers for the ASR tests: generated speech fixtures, noise, text normalisation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "asr"
RATE_HZ = 16_000


def normalise(text: str) -> str:
    """Lowercase words without punctuation, for WER."""
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def load_clips() -> dict[str, tuple[np.ndarray, str, str]]:
    """Name -> (float32 16 kHz audio, reference text, speaker) for every fixture."""
    import soundfile as sf

    references = json.loads((DATA_DIR / "references.json").read_text(encoding="utf-8"))
    clips = {}
    for name, item in references.items():
        audio, rate_hz = sf.read(DATA_DIR / f"{name}.flac", dtype="float32")
        assert rate_hz == RATE_HZ and audio.ndim == 1
        clips[name] = (audio, item["text"], item["speaker"])
    return clips


def white_noise(seconds: float, amplitude: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(seconds * RATE_HZ))).astype(np.float32)


def pink_noise(seconds: float, amplitude: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE_HZ)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    x = np.fft.irfft(spectrum, n)
    return (amplitude * x / np.abs(x).max()).astype(np.float32)
