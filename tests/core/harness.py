"""Core test harness: sessions driven by scripted speech, no sockets, no model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.playbook import Playbook, default_playbook
from models.recognition import SegmentRecognized, Word
from models.wire import AudioFormat, Consent, Nudge, Role, ServerMessage
from server.core.session import AsrRequest, Outputs, Session
from server.core.vad import FRAME_BYTES


class ScriptedVad:
    """Stands in for webrtcvad: a frame is voiced when its first byte is non-zero."""

    def is_voiced(self, frame: bytes) -> bool:
        return frame[0] != 0


SPEECH = b"\x01" * FRAME_BYTES
SILENCE = b"\x00" * FRAME_BYTES
FPS = 100 / 3


@dataclass
class Harness:
    session: Session
    rep: str
    customer: str
    outputs: list[Outputs] = field(default_factory=list)

    def play(self, script: list[tuple[float, bool, bool]]) -> None:
        """Feeds (seconds, rep speaks, customer speaks) stretches, 30 ms at a time."""
        for seconds, rep, customer in script:
            for _ in range(round(seconds * FPS)):
                self.outputs.append(self.session.feed_audio(self.rep, SPEECH if rep else SILENCE))
                self.outputs.append(
                    self.session.feed_audio(self.customer, SPEECH if customer else SILENCE)
                )

    def sent(self, pid: str | None = None) -> list[ServerMessage]:
        return [m for o in self.outputs for p, m in o.sends if pid is None or p == pid]

    def asr_jobs(self) -> list[AsrRequest]:
        return [j for o in self.outputs for j in o.asr_jobs]

    def nudges(self) -> list[Nudge]:
        return [m for m in self.sent(self.rep) if isinstance(m, Nudge)]


def make_session(
    playbook: Playbook | None = None,
    *,
    live: bool = True,
    asr: bool = False,
    scopes: tuple[str, ...] = ("coaching", "transcript"),
) -> Harness:
    session = Session(
        "s1", playbook=playbook or default_playbook(), vad_factory=ScriptedVad, asr=asr
    )
    rep, _ = session.join(Role.REP, "Anna", AudioFormat())
    customer, _ = session.join(Role.CUSTOMER, "Bob", AudioFormat())
    harness = Harness(session, rep, customer)
    if live:
        harness.outputs.append(session.consent(rep, Consent(granted=True, scopes=scopes), 0.0))
        harness.outputs.append(session.consent(customer, Consent(granted=True, scopes=scopes), 0.0))
        assert session.is_live
    return harness


def recognize(
    session: Session,
    speaker: str,
    segment: int,
    final: bool,
    words: Sequence[Word],
    start_s: float,
    language: str | None = None,
    language_probability: float = 0.0,
) -> Outputs:
    """Hands the session a recognition result, as the ASR adapter does."""
    return session.on_recognition(
        SegmentRecognized(
            speaker=Role(speaker),
            segment=segment,
            final=final,
            start_s=start_s,
            words=tuple(words),
            language=language,
            language_probability=language_probability,
        )
    )
