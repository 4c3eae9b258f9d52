"""The in-process event bus: what MQTT carries between nodes, inside one process."""

from __future__ import annotations

from collections.abc import Callable

from models.wire import ServerMessage

Subscriber = Callable[[str, ServerMessage], None]


class LocalBus:
    """Fan-out of session events to in-process subscribers (trainer views, MQTT)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Adds a subscriber; returns the function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, session_id: str, message: ServerMessage) -> None:
        for subscriber in list(self._subscribers):
            subscriber(session_id, message)
