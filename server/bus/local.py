"""The in-process event bus: the trainer-visible event stream of one process.

Nothing subscribes yet (the trainer view will); publishing counts events per message type,
so that what reaches trainers is observable (`sparring_events_published_total`).
"""

from __future__ import annotations

from collections import Counter

from models.wire import ServerMessage


class LocalBus:
    """Where the core's `Outputs.publish` goes: events only trainers may see."""

    def __init__(self) -> None:
        self.published: Counter[str] = Counter()  # message type -> events published

    def publish(self, session_id: str, message: ServerMessage) -> None:
        """Publishes one event of `session_id`; the core already checked it may be seen."""
        self.published[str(message.__struct_config__.tag)] += 1
