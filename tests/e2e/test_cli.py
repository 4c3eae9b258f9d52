"""The `sparring` command as a user runs it: serve, join, demo (real processes, real sockets)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from client.stream import Participant, Trainer, create_session, read_audio
from server.app import Server
from server.config import Config
from tests.conftest import CALLS_DIR
from tests.waiting import wait_for, wait_for_blocking

SPARRING = [sys.executable, "-m", "client.cli"]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_demo_runs_a_call_and_summarises_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SPARRING, "demo", "--call", "pushy", "--model", "none", "--speed", "30", "--no-color",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ANALYSIS ON" in out and "Summary of the call" in out
    assert "NUDGE interruption" in out and "NUDGE monologue" in out
    assert "rep 79% / customer 21%" in out


def test_cli_serve_prints_urls_serves_pages_and_stops_on_sigint() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*SPARRING, "serve", "--port", str(port), "--model", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        readable, _, _ = select.select([proc.stdout], [], [], 10)
        assert readable, "serve printed nothing within 10 s"
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        wait_for_blocking(healthy, 10, "the server answers /healthz with 200")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            assert b"Sparring" in r.read()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_cli_serve_generates_a_trainer_key_that_signs_in_and_names_its_node() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*SPARRING, "serve", "--port", str(port), "--model", "none", "--node", "Room B!"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        key = None
        while key is None:
            line = lines.get(timeout=10)  # raises Empty: serve printed no trainer key
            if "trainer key:" in line:
                key = line.split("trainer key:")[1].split()[0]
        assert len(key) >= 20

        async def sign_in() -> list:
            async with Trainer(f"ws://127.0.0.1:{port}/v1/live", key) as tom:
                await wait_for(lambda: len(tom.messages) >= 2, what="welcome and cluster")
                created = await create_session(f"ws://127.0.0.1:{port}/v1/live")
                return [*tom.messages, created]

        welcome, _, created = asyncio.run(sign_in())
        assert welcome.node == "room-b" and created.session.startswith("room-b.")
        assert created.tokens.customer.startswith("room-b.")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_cli_serve_refuses_an_invalid_playbook_with_the_line(tmp_path: Path) -> None:
    playbook = tmp_path / "bad.toml"
    playbook.write_text('name = "x"\n[rules.monologue]\nthreshold_s = "long"\n')
    result = subprocess.run(
        [*SPARRING, "serve", "--port", str(free_port()), "--model", "none", "--playbook", str(playbook)],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )
    assert result.returncode == 2
    assert "line 3, rules.monologue.threshold_s" in result.stderr


async def test_cli_join_streams_a_file_and_prints_the_events() -> None:
    rep_audio = read_audio(CALLS_DIR / "good.rep.flac")
    async with Server(Config(port=0, model="none")) as srv:
        created = await create_session(srv.ws_url, "cli")
        proc = await asyncio.create_subprocess_exec(
            *SPARRING, "join", "--server", srv.http_url, "--token", created.join_urls.customer,
            "--wav", str(CALLS_DIR / "good.customer.flac"), "--speed", "20", "--name", "Bob",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        async with Participant(srv.ws_url, created.tokens.rep, "Anna", rep_audio.format()) as rep:
            await rep.consent()
            await asyncio.wait_for(rep.live.wait(), 30)
            await rep.stream(rep_audio.frames(), speed=20)
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
            await rep.end()
        assert proc.returncode == 0, stderr.decode()
        events = [json.loads(line) for line in stdout.decode().splitlines() if line.startswith("{")]
        kinds = [e["type"] for e in events]
        assert kinds[0] == "welcome" and events[0]["role"] == "customer"
        assert any(e["type"] == "state" and e["live"] for e in events)
        assert "metrics" not in kinds and "nudge" not in kinds  # the customer sees state only
        session = srv.app.hub.get(created.session)
        assert session.report().customer_speech_s > 30
