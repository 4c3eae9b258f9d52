"""What a core command produced, for the adapters to carry out in field order.

Pure data: the core fills it, the transport and the ASR pool act on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.wire import Role, ServerMessage
from server.core.transcripts import AsrRequest


@dataclass(slots=True)
class Outputs:
    """What a command produced; carry it out in field order."""

    sends: list[tuple[str, ServerMessage]] = field(default_factory=list)
    publish: list[ServerMessage] = field(default_factory=list)  # to trainers (the bus)
    asr_jobs: list[AsrRequest] = field(default_factory=list)
    cancel_asr: bool = False  # drop the session's queued and running recognition
    cancel_speakers: list[Role] = field(default_factory=list)  # the same, for one party
    closes: list[str] = field(default_factory=list)

    def extend(self, later: Outputs) -> None:
        """Adds what a later command produced, to be carried out after this one's."""
        self.sends.extend(later.sends)
        self.publish.extend(later.publish)
        self.asr_jobs.extend(later.asr_jobs)
        self.cancel_asr = self.cancel_asr or later.cancel_asr
        self.cancel_speakers.extend(later.cancel_speakers)
        self.closes.extend(later.closes)
