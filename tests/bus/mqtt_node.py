"""A node process with nothing but its MQTT bus, for the last-will test (killed with SIGKILL).

Usage: `python tests/bus/mqtt_node.py mqtt://127.0.0.1:PORT NODE`; prints `connected` once
its presence is published.
"""

from __future__ import annotations

import asyncio
import sys

from models.wire import RelayedWhisper, ServerMessage
from server.bus import LinkState
from server.bus.mqtt import MqttBus


class _Quiet:
    def __init__(self) -> None:
        self.connected = asyncio.Event()

    def on_event(self, session_id: str, message: ServerMessage) -> None:
        pass

    def on_link(self, state: LinkState) -> None:
        if state == "connected":
            self.connected.set()

    def on_node(self, node: str, online: bool) -> None:
        pass


def _ignore(whisper: RelayedWhisper) -> None:
    pass


async def main(url: str, node: str) -> None:
    listener = _Quiet()
    bus = MqttBus(url, node, listener, hosts=lambda _: False, on_whisper=_ignore)
    await bus.start()
    await listener.connected.wait()
    print("connected", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
