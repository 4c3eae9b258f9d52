"""The in-process event bus: the trainer-visible event stream of one node.

Publishing counts events per message type (`sparring_events_published_total`) and hands
each to the listener (the trainer desk) at once. With one node, every call is local, so a
whisper never needs relaying.
"""

from __future__ import annotations

from collections import Counter

from models.wire import RelayedWhisper, ServerMessage
from server.bus import Listener


class LocalBus:
    """Where the core's `Outputs.publish` goes when there is no MQTT broker."""

    def __init__(self, listener: Listener | None = None) -> None:
        self.published: Counter[str] = Counter()  # message type -> events published
        self.listener = listener

    def publish(self, session_id: str, message: ServerMessage) -> None:
        """Publishes one event of `session_id`; the core already checked it may be seen."""
        self.published[str(message.__struct_config__.tag)] += 1
        if self.listener is not None:
            self.listener.on_event(session_id, message)

    def relay_whisper(self, whisper: RelayedWhisper) -> bool:
        """No other node to relay to: a call this node does not host is unknown."""
        return False
