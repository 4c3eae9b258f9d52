"""Fixtures of the MQTT bus tests: a Mosquitto of the test's own, and nodes on it.

Every broker is a real process on a free loopback port (`tests/services.py`); a node is an
`MqttBus` with a recording listener in the test's own event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mqtt_helpers import CONNECT_TIMEOUT_S, MakeNode, Node, Recorder

from server.bus.mqtt import MqttBus
from tests.services import Mosquitto
from tests.waiting import wait_for


@pytest.fixture
def broker_down(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker on its own port, not started yet."""
    broker = Mosquitto(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture
def broker(broker_down: Mosquitto) -> Mosquitto:
    """A running broker on its own port."""
    broker_down.start()
    return broker_down


@pytest.fixture
async def make_node(broker_down: Mosquitto) -> AsyncIterator[MakeNode]:
    """`await make_node("n1", hosts={"n1.a"})`: a started bus on the test's broker.

    With `connected=True` (the default) it returns once the node is subscribed.
    """
    made: list[MqttBus] = []

    async def _make(
        node: str, hosts: set[str] | None = None, *, connected: bool = True, **options: float
    ) -> Node:
        seen, hosted = Recorder(), set(hosts or ())
        bus = MqttBus(
            broker_down.url,
            node,
            seen,
            hosts=hosted.__contains__,
            on_whisper=seen.on_whisper,
            **options,  # type: ignore[arg-type]
        )
        made.append(bus)
        await bus.start()
        if connected:
            await wait_for(
                lambda: bus.link == "connected", CONNECT_TIMEOUT_S, f"node {node} connected"
            )
        return Node(bus, seen, hosted)

    yield _make
    for bus in made:
        await bus.stop()
