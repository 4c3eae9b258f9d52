"""The trainer bus: where the events trainers may see go, within a node and across nodes.

`LocalBus` is the whole bus of a single server; `MqttBus` (with `--mqtt`) also carries the
events to and from the other nodes. Both deliver to a `Listener` (the trainer desk) and
never block the caller: coaching never waits on trainers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Literal, Protocol

from models.wire import RelayedWhisper, ServerMessage

LinkState = Literal["connected", "reconnecting", "off"]


class Listener(Protocol):
    """What a bus delivers to (`server.desk.TrainerDesk`)."""

    def on_event(self, session_id: str, message: ServerMessage) -> None:
        """An event of `session_id`, hosted on this node or another one."""
        ...

    def on_link(self, state: LinkState) -> None:
        """The link to the other nodes changed (MQTT connected or reconnecting)."""
        ...

    def on_node(self, node: str, online: bool) -> None:
        """A node's presence changed (an offline node's calls are lost)."""
        ...


class Bus(Protocol):
    """What the dispatcher and the trainer desk use of a bus."""

    published: Counter[str]  # message type -> events published (for /metrics)

    def publish(self, session_id: str, message: ServerMessage) -> None:
        """Publishes an event the audience policy allows for trainers; never blocks."""
        ...

    def relay_whisper(self, whisper: RelayedWhisper) -> bool:
        """Sends a trainer's whisper to the node hosting its call; False if it cannot."""
        ...


WhisperSink = Callable[[RelayedWhisper], None]
"""Applies a whisper relayed from another node to a call hosted here."""
