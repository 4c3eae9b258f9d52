"""Microphone capture for `sparring join --mic`: 16 kHz mono PCM16 in 100 ms frames.

Needs the optional `sounddevice` package (`pip install 'sparring[mic]'`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from models.wire import AudioFormat

MIC_FORMAT = AudioFormat(rate=16000, channels=1)
FRAME_SAMPLES = 1600  # 100 ms


def require_sounddevice() -> None:
    """Exits with one line naming the install when sounddevice or PortAudio is missing.

    Raises:
        SystemExit: sounddevice cannot be imported.
    """
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as exc:
        raise SystemExit(
            f"sparring: --mic needs sounddevice and PortAudio ({exc}); pip install 'sparring[mic]'"
        ) from None


async def microphone_frames() -> AsyncIterator[bytes]:
    """Yields 100 ms frames from the default input device until cancelled."""
    require_sounddevice()
    import sounddevice
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=100)

    def callback(indata: object, frames: int, time: object, status: object) -> None:
        data = bytes(indata)  # type: ignore[call-overload]
        loop.call_soon_threadsafe(_put, queue, data)

    with sounddevice.RawInputStream(
        samplerate=MIC_FORMAT.rate,
        channels=1,
        dtype="int16",
        blocksize=FRAME_SAMPLES,
        callback=callback,
    ):
        while True:
            yield await queue.get()


def _put(queue: asyncio.Queue[bytes], data: bytes) -> None:
    if queue.full():
        queue.get_nowait()  # a stalled network drops the oldest audio, not the newest
    queue.put_nowait(data)
