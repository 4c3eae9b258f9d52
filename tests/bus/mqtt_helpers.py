"""The MQTT bus tests' recording listener and node handle (imported by `conftest.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from models.wire import RelayedWhisper, ServerMessage
from server.bus import LinkState
from server.bus.mqtt import MqttBus

CONNECT_TIMEOUT_S = 10.0


@dataclass
class Recorder:
    """A listener that keeps what it is told, and a node's whisper sink."""

    events: list[tuple[str, ServerMessage]] = field(default_factory=list)
    links: list[LinkState] = field(default_factory=list)
    nodes: dict[str, bool] = field(default_factory=dict)
    whispers: list[RelayedWhisper] = field(default_factory=list)

    def on_event(self, session_id: str, message: ServerMessage) -> None:
        self.events.append((session_id, message))

    def on_link(self, state: LinkState) -> None:
        self.links.append(state)

    def on_node(self, node: str, online: bool) -> None:
        self.nodes[node] = online

    def on_whisper(self, whisper: RelayedWhisper) -> None:
        self.whispers.append(whisper)

    def of(self, session_id: str, kind: str | None = None) -> list[ServerMessage]:
        """The events of one session (of one message type)."""
        return [
            m
            for s, m in self.events
            if s == session_id and (kind is None or m.__struct_config__.tag == kind)
        ]


@dataclass
class Node:
    bus: MqttBus
    seen: Recorder
    hosted: set[str]


MakeNode = Callable[..., Awaitable[Node]]
