"""Two real nodes behind nginx, one Mosquitto: a call stays on its node, a trainer elsewhere sees it.

Everything is a real process on a free loopback port: `sparring serve --node n1` and
`--node n2` (speech recognition off), Debian's mosquitto, and nginx running
docs/nginx.conf itself (its upstream addresses and port replaced). Every connection goes
through nginx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from client.stream import Participant, read_audio
from models.wire import CallSummary, Cluster, Created, Nudge, Welcome
from tests.conftest import CALLS_DIR
from tests.services import Mosquitto, Nginx, accepts, free_port
from tests.waiting import recv, recv_until, wait_for, wait_for_blocking

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parents[2]
SPARRING = [sys.executable, "-m", "client.cli"]
TRAINER_KEY = "e2e-trainer-key"
START_TIMEOUT_S = 30.0
# Events cross two processes and a broker; the call's line comes about once a second.
EVENT_TIMEOUT_S = 10.0


@dataclass
class Nodes:
    nginx: Nginx
    broker: Mosquitto
    nodes: dict[str, subprocess.Popen[bytes]]

    def ws(self, node: str | None = None) -> str:
        """`WS /v1/live` through nginx, routed to `node` (none: any node)."""
        base = self.nginx.url.replace("http://", "ws://") + "/v1/live"
        return f"{base}?node={node}" if node else base


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _serve(node: str, port: int, mqtt_url: str, log: Path) -> subprocess.Popen[bytes]:
    command = [*SPARRING, "serve", "--port", str(port), "--model", "none", "--node", node]
    command += ["--mqtt", mqtt_url, "--trainer-key", TRAINER_KEY]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Nodes]:
    broker = Mosquitto(tmp_path)
    broker.start()
    ports = {"n1": free_port(), "n2": free_port()}
    nodes: dict[str, subprocess.Popen[bytes]] = {}
    nginx = Nginx(
        tmp_path,
        (ROOT / "docs" / "nginx.conf").read_text(),
        {
            "10.0.0.11:8765": f"127.0.0.1:{ports['n1']}",
            "10.0.0.12:8765": f"127.0.0.1:{ports['n2']}",
        },
    )
    try:
        for node, port in ports.items():
            nodes[node] = _serve(node, port, broker.url, tmp_path / f"{node}.log")
        for node, port in ports.items():
            wait_for_blocking(lambda port=port: _healthy(port), START_TIMEOUT_S, f"{node} healthy")
        nginx.start()
        yield Nodes(nginx, broker, nodes)
    finally:
        nginx.stop()
        for process in nodes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for node, process in nodes.items():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            assert not accepts(ports[node])
        broker.stop()


@pytest.fixture
async def trainer_ws() -> AsyncIterator[list[ClientConnection]]:
    opened: list[ClientConnection] = []
    yield opened
    for ws in opened:
        with contextlib.suppress(Exception):
            await ws.close()


async def test_nodes_call_stays_on_its_node_and_a_trainer_on_the_other_whispers(
    cluster: Nodes, trainer_ws: list[ClientConnection]
) -> None:
    # Created through nginx without a node: whichever node answers holds the call.
    async with connect(cluster.ws(), compression=None) as ws:
        await ws.send(json.dumps({"type": "create", "title": "Discovery", "key": TRAINER_KEY}))
        created = await recv(ws)
    assert isinstance(created, Created)
    home = created.session.split(".", 1)[0]
    other = {"n1": "n2", "n2": "n1"}[home]
    assert created.tokens.rep.startswith(f"{home}.")
    assert created.tokens.customer.startswith(f"{home}.")

    rep_audio = read_audio(CALLS_DIR / "good.rep.flac")
    customer_audio = read_audio(CALLS_DIR / "good.customer.flac")
    token_node = created.tokens.customer.split(".", 1)[0]
    async with (
        Participant(cluster.ws(home), created.tokens.rep, "Anna", rep_audio.format()) as rep,
        Participant(
            cluster.ws(token_node), created.tokens.customer, "Bob", customer_audio.format()
        ) as customer,
    ):
        await wait_for(lambda: rep.of_type(Welcome) and customer.of_type(Welcome), what="welcomes")
        assert rep.of_type(Welcome)[0].node == home
        assert customer.of_type(Welcome)[0].node == home
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), EVENT_TIMEOUT_S)

        # The trainer's dashboard is served by the other node.
        trainer = await connect(cluster.ws(other), compression=None)
        trainer_ws.append(trainer)
        await trainer.send(json.dumps({"type": "hello", "trainer_key": TRAINER_KEY, "name": "Tom"}))
        welcome, _ = await recv_until(trainer, lambda m: isinstance(m, Welcome))
        assert isinstance(welcome, Welcome) and welcome.role == "trainer"
        assert welcome.node == other
        await trainer.send(json.dumps({"type": "watch", "session": "*"}))

        streaming = asyncio.gather(
            rep.stream(rep_audio.frames(), speed=3.0),
            customer.stream(customer_audio.frames(), speed=3.0),
        )
        try:
            line, _ = await recv_until(
                trainer,
                lambda m: (
                    isinstance(m, CallSummary)
                    and m.session == created.session
                    and m.status == "live"
                    and m.at > 0
                ),
                EVENT_TIMEOUT_S,
            )
            assert isinstance(line, CallSummary)
            assert line.node == home and not line.private and line.title == "Discovery"

            text = "Ask about their budget"
            await trainer.send(
                json.dumps({"type": "whisper", "session": created.session, "text": text})
            )

            def whispered(m: object) -> bool:
                return isinstance(m, Nudge) and m.rule == "manual" and m.text == text

            await wait_for(
                lambda: any(whispered(m) for m in rep.messages), EVENT_TIMEOUT_S, "the whisper"
            )
            (nudge,) = [m for m in rep.messages if whispered(m)]
            assert isinstance(nudge, Nudge)
            assert nudge.evidence.get("from") == "Tom" and nudge.evidence.get("by") == "trainer"
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming

        await rep.end()
        await asyncio.wait_for(customer.ended.wait(), EVENT_TIMEOUT_S)
    # The customer read everything up to the end of the call: the whisper was not in it.
    assert customer.messages and not any(
        isinstance(m, Nudge) and m.rule == "manual" for m in customer.messages
    )
    # The report is routed to the call's node by its id.
    path = f"/v1/sessions/{created.session}/report?token={created.tokens.rep}"
    body = await asyncio.to_thread(_read, cluster.nginx.url + path)
    assert json.loads(body)["session"] == created.session


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


async def test_nodes_killed_node_shows_offline_and_its_call_lost_on_the_other(
    cluster: Nodes, trainer_ws: list[ClientConnection]
) -> None:
    async with connect(cluster.ws(), compression=None) as ws:
        await ws.send(json.dumps({"type": "create", "title": "Doomed", "key": TRAINER_KEY}))
        created = await recv(ws)
    assert isinstance(created, Created)
    home = created.session.split(".", 1)[0]
    other = {"n1": "n2", "n2": "n1"}[home]
    async with (
        Participant(cluster.ws(home), created.tokens.rep, "Anna") as rep,
        Participant(cluster.ws(home), created.tokens.customer, "Bob") as customer,
    ):
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), EVENT_TIMEOUT_S)

        trainer = await connect(cluster.ws(other), compression=None)
        trainer_ws.append(trainer)
        await trainer.send(json.dumps({"type": "hello", "trainer_key": TRAINER_KEY, "name": "Tom"}))
        await trainer.send(json.dumps({"type": "watch", "session": "*", "events": "summary"}))
        await recv_until(
            trainer,
            lambda m: isinstance(m, CallSummary) and m.session == created.session,
            EVENT_TIMEOUT_S,
        )

        cluster.nodes[home].kill()  # SIGKILL: the broker's last will speaks for it
        cluster.nodes[home].wait()

        def offline(m: object) -> bool:
            return isinstance(m, Cluster) and any(n.node == home and not n.online for n in m.nodes)

        def lost(m: object) -> bool:
            return (
                isinstance(m, CallSummary) and m.session == created.session and m.status == "lost"
            )

        seen: list[object] = []
        while not (any(map(offline, seen)) and any(map(lost, seen))):
            message, before = await recv_until(
                trainer, lambda m: offline(m) or lost(m), EVENT_TIMEOUT_S
            )
            seen += [*before, message]
