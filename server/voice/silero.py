"""The second voice stage: Silero VAD (shipped inside faster-whisper), run with onnxruntime.

An adapter: the core asks it, through `second_stage.VoiceConfirmer`, for a speech probability per
30 ms frame of a microphone that webrtcvad alone cannot be trusted on (noise, keyboards,
music). One model per process; one small state per microphone. webrtcvad stays the cheap
first stage: published ROC-AUC on a multi-domain set is 0.73 for webrtcvad, 0.96 for Silero.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import numpy as np

from server.core.second_stage import CONFIRM_FRAMES
from server.core.vad import FRAME_SAMPLES

log = logging.getLogger("sparring.voice")

WINDOW_SAMPLES = 512  # Silero's window at 16 kHz (32 ms)
CONTEXT_SAMPLES = 64  # the tail of the previous window it sees before each one
STATE_SHAPE = (1, 1, 128)
_WINDOWS = CONFIRM_FRAMES * FRAME_SAMPLES // WINDOW_SAMPLES  # 15 windows per batch
# The window holding each frame's centre.
_CENTRES = (np.arange(CONFIRM_FRAMES) * FRAME_SAMPLES + FRAME_SAMPLES // 2) // WINDOW_SAMPLES

_session: Any = None


def _model() -> Any:
    """The shared ONNX session (loaded on first use)."""
    global _session
    if _session is None:
        import onnxruntime  # a dependency of faster-whisper

        path = resources.files("faster_whisper").joinpath("assets/silero_vad_v6.onnx")
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 4
        with resources.as_file(path) as file:
            _session = onnxruntime.InferenceSession(
                str(file), providers=["CPUExecutionProvider"], sess_options=options
            )
        log.info("Silero VAD loaded from faster-whisper's assets")
    return _session


def available() -> bool:
    """Whether the model and its runtime are installed."""
    try:
        import onnxruntime  # noqa: F401

        return resources.files("faster_whisper").joinpath("assets/silero_vad_v6.onnx").is_file()
    except (ImportError, ModuleNotFoundError):
        return False


class SileroConfirmer:
    """Speech probabilities for one microphone, 16 frames (15 Silero windows) at a time."""

    def __init__(self) -> None:
        self._session = _model()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probabilities(self, pcm: bytes) -> list[float]:
        """One probability per 30 ms frame: that of the Silero window holding its centre."""
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        windows = audio.reshape(_WINDOWS, WINDOW_SAMPLES)
        context = np.concatenate((self._context[None, :], windows[:-1, -CONTEXT_SAMPLES:]))
        batch = np.concatenate((context, windows), axis=1)
        out, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -CONTEXT_SAMPLES:].copy()
        window_p = np.asarray(out, dtype=np.float32).reshape(-1)
        return window_p[_CENTRES].tolist()  # type: ignore[no-any-return]
