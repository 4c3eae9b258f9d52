"""MqttBus against a real Mosquitto: fan-out between nodes, retention, whispers, outages.

Each test runs its own broker on a free port (`conftest.py`); broker outages are real kills.
Absence is never asserted after a sleep: a later message that must come after the
forbidden one is awaited first (MQTT keeps the order on one connection).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt
import pytest
from mqtt_helpers import MakeNode, Recorder

from models import codec
from models.wire import (
    CallSummary,
    Metrics,
    Nudge,
    ParticipantView,
    RelayedWhisper,
    Role,
    Severity,
    State,
    TalkShare,
)
from server.bus.mqtt import MqttBus, session_topic
from tests.services import Mosquitto, free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parents[2]
SPARRING = [sys.executable, "-m", "client.cli"]
START_TIMEOUT_S = 30.0  # a node process: Python, numpy, the playbook
# Reconnect backoff is 1 s, then 2 s, then 4 s: a broker back within a second is seen by then.
RECONNECT_TIMEOUT_S = 10.0


def metrics(session: str, at: float) -> Metrics:
    share = TalkShare(rep=0.6, customer=0.4)
    return Metrics(
        session=session,
        at=at,
        talk=share,
        talk_window=share,
        longest_monologue_s=3.0,
        current_monologue_s=0.0,
        interruptions=0,
        overlaps=0,
        mean_response_gap_s=None,
        silence_s=0.0,
    )


def summary(session: str, status: str = "live", *, private: bool = False) -> CallSummary:
    if private:
        return CallSummary(session=session, node="n1", private=True, status=status, created_at=1.0)
    return CallSummary(
        session=session, node="n1", status=status, created_at=1.0, title="Discovery", at=12.0
    )


def state(session: str) -> State:
    rep = ParticipantView(role=Role.REP, name="Anna", connected=True, consented=True)
    return State(
        session=session,
        live=True,
        status="live",
        waiting_for=(),
        participants=(rep,),
        dropped_before_consent_s=0.0,
    )


def nudge(session: str, text: str) -> Nudge:
    return Nudge(
        session=session, id=text, rule="monologue", text=text, severity=Severity.WARN, at=1.0
    )


async def retained(broker: Mosquitto, topic_filter: str) -> dict[str, bytes]:
    """What a client subscribing now gets as retained messages under `topic_filter`.

    The broker sends them on subscription, before the marker this client publishes after it.
    """
    marker = f"test/marker/{time.monotonic_ns()}"
    found: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe(topic_filter, qos=1)
        await client.subscribe(marker, qos=1)
        await client.publish(marker, b"x", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                if message.topic.value == marker:
                    return found
                if message.retain and message.payload:
                    found[message.topic.value] = bytes(message.payload)  # type: ignore[arg-type]
    return found


async def test_mqtt_events_reach_another_node_and_own_echo_is_skipped(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"})
    n2 = await make_node("n2", {"n2.b"})

    n1.bus.publish("n1.a", metrics("n1.a", 1.0))
    assert len(n1.seen.of("n1.a")) == 1  # this node's desk at once

    await wait_for(lambda: n2.seen.of("n1.a", "metrics"), what="n1's metrics on n2")
    ((_, got),) = [(s, m) for s, m in n2.seen.events if s == "n1.a"]
    assert got == metrics("n1.a", 1.0)
    # n2's event reaches n1 after n1's own echo would have (one connection keeps its order).
    n2.bus.publish("n2.b", nudge("n2.b", "later"))
    await wait_for(lambda: n1.seen.of("n2.b", "nudge"), what="n2's nudge on n1")
    assert len(n1.seen.of("n1.a")) == 1
    assert n1.bus.published == {"metrics": 1}
    assert n1.seen.nodes == {"n1": True, "n2": True} and n2.seen.nodes["n1"] is True


async def test_mqtt_payload_is_the_wire_message_without_seq(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"})
    n1.bus.publish("n1.a", summary("n1.a"))
    n1.bus.publish("n1.a", nudge("n1.a", "Ask"))  # not retained: published after the summary

    found = await wait_for_retained(broker, "sparring/v1/sessions/n1.a/+", 1)
    payload = found[session_topic("n1.a", "summary")]
    assert b'"seq"' not in payload and payload.startswith(b'{"type":"call","session":"n1.a"')
    assert codec.decode_server(payload) == summary("n1.a")


async def wait_for_retained(broker: Mosquitto, topic_filter: str, n: int) -> dict[str, bytes]:
    deadline = time.monotonic() + 5
    while len(found := await retained(broker, topic_filter)) < n:
        assert time.monotonic() < deadline, f"{n} retained under {topic_filter}, got {found}"
        await asyncio.sleep(0.02)
    return found


async def test_mqtt_retained_summary_and_state_reach_a_late_node(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"})
    n1.bus.publish("n1.a", state("n1.a"))
    n1.bus.publish("n1.a", summary("n1.a"))
    n1.bus.publish("n1.a", metrics("n1.a", 2.0))  # not retained
    await wait_for_retained(broker, "sparring/v1/sessions/n1.a/+", 2)

    late = await make_node("n3")
    await wait_for(lambda: late.seen.of("n1.a", "call"), what="the retained summary")
    await wait_for(lambda: late.seen.of("n1.a", "state"), what="the retained state")
    assert late.seen.of("n1.a", "call") == [summary("n1.a")]
    assert not late.seen.of("n1.a", "metrics")  # retained ones came on subscription, alone


async def test_mqtt_private_call_clears_its_retained_state(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"})
    n2 = await make_node("n2")
    n1.bus.publish("n1.a", state("n1.a"))
    n1.bus.publish("n1.a", summary("n1.a"))
    await wait_for_retained(broker, "sparring/v1/sessions/n1.a/+", 2)

    n1.bus.publish("n1.a", summary("n1.a", private=True))
    await wait_for(
        lambda: summary("n1.a", private=True) in n2.seen.of("n1.a", "call"),
        what="the private line on n2",
    )
    # The clear was published before the private line, on the same connection.
    found = await retained(broker, "sparring/v1/sessions/n1.a/+")
    assert list(found) == [session_topic("n1.a", "summary")]
    assert codec.decode_server(found[session_topic("n1.a", "summary")]).private


async def test_mqtt_ended_call_retained_messages_are_cleared_later(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"}, clear_ended_after_s=0.3)
    async with aiomqtt.Client("127.0.0.1", broker.port) as watcher:
        await watcher.subscribe("sparring/v1/sessions/n1.a/summary", qos=1)
        n1.bus.publish("n1.a", state("n1.a"))
        n1.bus.publish("n1.a", summary("n1.a", "ended"))
        payloads: list[bytes] = []
        async with asyncio.timeout(5):
            async for message in watcher.messages:
                payloads.append(bytes(message.payload))  # type: ignore[arg-type]
                if not message.payload:
                    break
    assert codec.decode_server(payloads[0]) == summary("n1.a", "ended")
    assert payloads[-1] == b""
    assert await retained(broker, "sparring/v1/sessions/n1.a/+") == {}


async def test_mqtt_whisper_goes_to_the_hosting_node_only(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"})
    n2 = await make_node("n2")  # the trainer's node
    n3 = await make_node("n3", {"n3.c"})

    to_n1 = RelayedWhisper(session="n1.a", text="Ask about their budget", name="Tom")
    assert n2.bus.relay_whisper(to_n1)
    await wait_for(lambda: n1.seen.whispers, what="the whisper on n1")
    assert n1.seen.whispers == [to_n1]

    to_n3 = RelayedWhisper(session="n3.c", text="Summarise", name="Tom")
    assert n2.bus.relay_whisper(to_n3)
    await wait_for(lambda: n3.seen.whispers, what="the second whisper on n3")
    # n3 heard the first whisper's topic before the second one and did not take it.
    assert n3.seen.whispers == [to_n3]
    assert n1.seen.whispers == [to_n1] and not n2.seen.whispers
    assert not any(s in ("n1.a", "n3.c") for s, _ in n2.seen.events)  # whispers are no events


async def test_mqtt_malformed_payloads_are_skipped(broker: Mosquitto, make_node: MakeNode) -> None:
    n2 = await make_node("n2")
    async with aiomqtt.Client("127.0.0.1", broker.port) as other:
        await other.publish(session_topic("x.y", "state"), b"{not json", qos=1)
        await other.publish(session_topic("x.y", "nudge"), b'{"type":"nudge"}', qos=1)
        await other.publish("sparring/v1/nodes/x", b"[]", qos=1)
        await other.publish(session_topic("x.y", "nudge"), codec.encode(nudge("x.y", "ok")), qos=1)
    await wait_for(lambda: n2.seen.of("x.y"), what="the good nudge after the bad ones")
    assert n2.seen.of("x.y") == [nudge("x.y", "ok")]
    assert "x" not in n2.seen.nodes


async def test_mqtt_broker_down_at_start_then_up(
    broker_down: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await asyncio.wait_for(make_node("n1", {"n1.a"}, connected=False), 1.0)
    assert n1.bus.link == "reconnecting" and n1.seen.links == ["reconnecting"]

    started = time.perf_counter()
    for i in range(5000):
        n1.bus.publish("n1.a", metrics("n1.a", i * 0.1))
    assert time.perf_counter() - started < 1.0  # never waits on the broker
    assert len(n1.seen.events) == 5000 and n1.bus.dropped["metrics"] == 5000
    assert not n1.bus.relay_whisper(RelayedWhisper(session="n2.b", text="Hi", name="Tom"))
    n1.bus.publish("n1.a", summary("n1.a"))  # retained: sent once the broker is there

    broker_down.start()
    await wait_for(lambda: n1.bus.link == "connected", RECONNECT_TIMEOUT_S, what="n1 connected")
    n2 = await make_node("n2")
    await wait_for(lambda: n2.seen.of("n1.a", "call"), what="the summary kept during the outage")
    n1.bus.publish("n1.a", nudge("n1.a", "now"))
    await wait_for(lambda: n2.seen.of("n1.a", "nudge"), what="a live event after connecting")
    assert n1.seen.links == ["reconnecting", "connected"]


async def test_mqtt_broker_killed_mid_stream_reconnects(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"})
    n2 = await make_node("n2")
    n1.bus.publish("n1.a", summary("n1.a"))
    sent = 0
    longest_publish_s = 0.0

    async def stream() -> None:  # a call's events, 100 per second, whatever the broker does
        nonlocal sent, longest_publish_s
        while True:
            started = time.perf_counter()
            n1.bus.publish("n1.a", metrics("n1.a", sent * 0.01))
            longest_publish_s = max(longest_publish_s, time.perf_counter() - started)
            sent += 1
            await asyncio.sleep(0.01)

    streaming = asyncio.create_task(stream())
    try:
        await wait_for(lambda: n2.seen.of("n1.a", "metrics"), what="metrics flowing")
        broker.kill()
        await wait_for(lambda: n1.bus.link == "reconnecting", what="n1 reconnecting")
        await wait_for(lambda: n2.bus.link == "reconnecting", what="n2 reconnecting")
        assert n1.seen.links[-1] == n2.seen.links[-1] == "reconnecting"
        during = sent
        await wait_for(lambda: sent > during + 20, what="coaching going on during the outage")

        broker.start()
        await wait_for(lambda: n1.bus.link == "connected", RECONNECT_TIMEOUT_S, what="n1 back")
        await wait_for(lambda: n2.bus.link == "connected", RECONNECT_TIMEOUT_S, what="n2 back")
        after = sent
        await wait_for(
            lambda: any(m.at >= after * 0.01 for m in n2.seen.of("n1.a", "metrics")),
            what="metrics flowing again",
        )
    finally:
        streaming.cancel()
    assert n1.seen.links == ["reconnecting", "connected", "reconnecting", "connected"]
    assert n1.bus.dropped["metrics"] > 0 and longest_publish_s < 0.05
    assert len(n1.seen.of("n1.a", "metrics")) == sent  # the local desk missed nothing
    # The restarted broker forgot everything; n1 published its presence and summary again.
    found = await retained(broker, "sparring/v1/#")
    assert set(found) >= {"sparring/v1/nodes/n1", session_topic("n1.a", "summary")}


async def test_mqtt_stop_publishes_offline_presence(broker: Mosquitto, make_node: MakeNode) -> None:
    n1 = await make_node("n1")
    n2 = await make_node("n2")
    await wait_for(lambda: n2.seen.nodes.get("n1") is True, what="n1 online on n2")
    await n1.bus.stop()
    await wait_for(lambda: n2.seen.nodes.get("n1") is False, what="n1 offline on n2")


async def test_mqtt_killed_node_goes_offline_through_its_last_will(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n2 = await make_node("n2")
    port = free_port()
    command = [*SPARRING, "serve", "--port", str(port), "--model", "none", "--node", "n9"]
    command += ["--mqtt", broker.url, "--trainer-key", "k"]
    node = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        await wait_for(lambda: n2.seen.nodes.get("n9") is True, START_TIMEOUT_S, "n9 online")
        node.kill()  # SIGKILL: no goodbye; the broker publishes the last will
        await wait_for(lambda: n2.seen.nodes.get("n9") is False, what="n9 offline on n2")
    finally:
        if node.returncode is None:
            node.kill()
        await node.wait()
    found = await retained(broker, "sparring/v1/nodes/n9")
    assert b'"online":false' in found["sparring/v1/nodes/n9"]


async def test_mqtt_stopped_node_says_it_is_offline(broker: Mosquitto, make_node: MakeNode) -> None:
    n2 = await make_node("n2")
    port = free_port()
    command = [*SPARRING, "serve", "--port", str(port), "--model", "none", "--node", "n9"]
    command += ["--mqtt", broker.url, "--trainer-key", "k"]
    node = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        await wait_for(lambda: n2.seen.nodes.get("n9") is True, START_TIMEOUT_S, "n9 online")
        node.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(node.wait(), START_TIMEOUT_S) == 0
        await wait_for(lambda: n2.seen.nodes.get("n9") is False, what="n9 offline on n2")
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()


async def test_mqtt_leftovers_of_an_earlier_run_are_cleared(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port) as earlier:
        old = codec.encode(summary("n1.old"))
        await earlier.publish(session_topic("n1.old", "summary"), old, qos=1, retain=True)
    n1 = await make_node("n1", {"n1.a"})
    await wait_for_retained_gone(broker, session_topic("n1.old", "summary"))
    assert not n1.seen.of("n1.old")


async def wait_for_retained_gone(broker: Mosquitto, topic: str) -> None:
    deadline = time.monotonic() + 5
    while topic in await retained(broker, topic):
        assert time.monotonic() < deadline, f"{topic} still retained"
        await asyncio.sleep(0.02)


async def test_mqtt_full_queue_drops_instead_of_waiting(
    broker: Mosquitto, make_node: MakeNode
) -> None:
    n1 = await make_node("n1", {"n1.a"}, queue_limit=10)
    n2 = await make_node("n2")
    for i in range(50):  # no await: the sender cannot run in between
        n1.bus.publish("n1.a", metrics("n1.a", float(i)))
    assert n1.bus.dropped["metrics"] == 40 and len(n1.seen.events) == 50
    await wait_for(lambda: len(n2.seen.of("n1.a")) == 10, what="the first 10 metrics on n2")
    n1.bus.publish("n1.a", nudge("n1.a", "after"))
    await wait_for(lambda: n2.seen.of("n1.a", "nudge"), what="the nudge after the burst")
    assert [m.at for m in n2.seen.of("n1.a", "metrics")] == [float(i) for i in range(10)]


def test_mqtt_bus_rejects_a_non_mqtt_url() -> None:
    with pytest.raises(ValueError, match="mqtt://host:port"):
        MqttBus("http://x", "n1", Recorder(), hosts=lambda _: False, on_whisper=lambda _: None)
