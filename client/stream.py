"""The Python participant: joins a session over WebSocket, consents, streams audio, reads events.

Used by `sparring join` and `sparring demo`, and by tests and benchmarks as a real client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import soxr
from websockets.asyncio.client import ClientConnection, connect

from models import codec
from models.wire import (
    SUPPORTED_RATES_HZ,
    AudioFormat,
    Consent,
    Create,
    Created,
    End,
    Hello,
    ServerMessage,
    State,
)

FRAME_S = 0.1  # 100 ms frames, as the browser sends


@dataclass(slots=True)
class Audio:
    """PCM16 audio in memory, ready to be cut into frames."""

    samples: np.ndarray  # int16, shape (n,) or (n, 2)
    rate_hz: int

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate_hz

    def format(self) -> AudioFormat:
        return AudioFormat(rate=self.rate_hz, channels=self.channels)

    def frames(self, frame_s: float = FRAME_S) -> Iterator[bytes]:
        step = max(1, round(self.rate_hz * frame_s))
        for i in range(0, len(self.samples), step):
            yield np.ascontiguousarray(self.samples[i : i + step]).astype("<i2").tobytes()


def read_audio(path: str | Path) -> Audio:
    """Reads a WAV or FLAC file; rates the protocol does not take are resampled to 16 kHz.

    Raises:
        ValueError: more than two channels.
    """
    if soundfile.info(str(path)).subtype == "PCM_16":
        # As stored, sample for sample: what `sparring analyse` decodes from the same file.
        data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    else:
        # Read as float and scale ourselves: libsndfile does not scale float files to int16.
        floats, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        data = (np.clip(floats, -1.0, 1.0) * 32767).astype(np.int16)
    if data.shape[1] > 2:
        raise ValueError(f"{path}: {data.shape[1]} channels; give mono or stereo (rep left)")
    if rate not in SUPPORTED_RATES_HZ:
        data = soxr.resample(data, rate, 16000).astype(np.int16)
        rate = 16000
    samples = data[:, 0] if data.shape[1] == 1 else data
    return Audio(samples=np.ascontiguousarray(samples), rate_hz=rate)


async def create_session(
    ws_url: str, title: str = "", language: str = "en", playbook: str = "default"
) -> Created:
    """Creates a session over its own short connection and returns tokens and links."""
    async with connect(ws_url, compression=None) as ws:
        await ws.send(
            codec.encode(Create(title=title, language=language, playbook=playbook)).decode()
        )
        message = codec.decode_server(await ws.recv())
        if not isinstance(message, Created):
            raise RuntimeError(f"create failed: {message}")
        return message


class _LiveClient:
    """What every client connection does: say hello, read on a task, send, close.

    Subclasses are dataclasses holding `ws_url`, `messages`, `_ws` and `_reader`, and define
    `_read`.
    """

    ws_url: str
    messages: list[ServerMessage]
    _ws: ClientConnection | None
    _reader: asyncio.Task[None] | None

    async def _open(self, hello: Hello, label: str) -> None:
        self._ws = await connect(self.ws_url, compression=None, max_size=1 << 22)
        await self._ws.send(codec.encode(hello).decode())
        self._reader = asyncio.create_task(self._read(), name=f"{label}.reader")

    async def _read(self) -> None:
        raise NotImplementedError

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def send_json(self, payload: object) -> None:
        assert self._ws is not None
        await self._ws.send(payload if isinstance(payload, str) else json.dumps(payload))

    async def send_audio(self, frame: bytes) -> None:
        assert self._ws is not None
        await self._ws.send(frame)

    def of_type(self, kind: type) -> list:
        return [m for m in self.messages if isinstance(m, kind)]


@dataclass
class Participant(_LiveClient):
    """One real client connection taking part in a session."""

    ws_url: str
    token: str
    name: str
    audio_format: AudioFormat | None = None
    scopes: tuple[str, ...] = ("coaching", "transcript", "trainer_view")
    on_message: Callable[[ServerMessage], None] | None = None
    messages: list[ServerMessage] = field(default_factory=list)
    live: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    role: str = ""
    _ws: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Participant:
        hello = Hello(
            token=self.token, name=self.name, client="sparring-py/0.1", audio=self.audio_format
        )
        await self._open(hello, f"participant[{self.name}]")
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for data in self._ws:
                message = codec.decode_server(data)
                self.messages.append(message)
                if isinstance(message, State):
                    if message.live:
                        self.live.set()
                    else:
                        self.live.clear()
                    if message.status == "ended":
                        self.ended.set()
                if getattr(message, "role", None) and not self.role:
                    self.role = str(message.role.value)  # type: ignore[attr-defined]
                if self.on_message is not None:
                    self.on_message(message)
        except Exception:
            pass
        finally:
            self.ended.set()

    async def consent(
        self,
        granted: bool = True,
        *,
        on_behalf_of: str | None = None,
        name: str | None = None,
        erase: bool = False,
    ) -> None:
        assert self._ws is not None
        msg = Consent(
            granted=granted,
            scopes=self.scopes,
            on_behalf_of=on_behalf_of,
            name=name,
            erase=erase,  # type: ignore[arg-type]
        )
        await self._ws.send(codec.encode(msg).decode())

    async def end(self) -> None:
        assert self._ws is not None
        await self._ws.send(codec.encode(End()).decode())

    async def stream(
        self,
        frames: Iterator[bytes] | AsyncIterator[bytes],
        *,
        speed: float = 1.0,
        start_at: float | None = None,
        frame_s: float = FRAME_S,
    ) -> None:
        """Sends frames paced at `speed` x real time (0 sends as fast as the socket takes).

        `start_at` (a `time.monotonic()` value) lets two participants keep one schedule.
        After a stall the pace resumes instead of catching up in a burst: a burst from one
        party would put the other past the server's lag bound (2 s of audio, 67 ms at 30x),
        and a lagging party counts as silent for what it missed.
        """
        next_at = start_at if start_at is not None else time.monotonic()
        step_s = frame_s / speed if speed > 0 else 0.0
        if isinstance(frames, Iterator):
            for frame in frames:
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.send_audio(frame)
                next_at = max(next_at + step_s, time.monotonic() - step_s)
        else:
            async for frame in frames:
                await self.send_audio(frame)



@dataclass
class Trainer(_LiveClient):
    """A trainer's connection: signed in with the trainer key, watching calls, whispering.

    What the dashboard does, for scripts and tests: `async with Trainer(url, key) as t:
    await t.watch("*")`; every message read lands in `messages`.
    """

    ws_url: str
    key: str
    name: str = "Trainer"
    messages: list[ServerMessage] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _ws: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Trainer:
        hello = Hello(trainer_key=self.key, name=self.name, client="sparring-py/0.1")
        await self._open(hello, f"trainer[{self.name}]")
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for data in self._ws:
                self.messages.append(codec.decode_server(data))
        except Exception:
            pass
        finally:
            self.closed.set()

    async def watch(self, session: str = "*", events: str = "all") -> None:
        await self.send_json({"type": "watch", "session": session, "events": events})

    async def unwatch(self, session: str) -> None:
        await self.send_json({"type": "unwatch", "session": session})

    async def whisper(self, session: str, text: str) -> None:
        await self.send_json({"type": "whisper", "session": session, "text": text})

    def about(self, session: str) -> list[ServerMessage]:
        """Every message that names `session`."""
        return [m for m in self.messages if getattr(m, "session", None) == session]
