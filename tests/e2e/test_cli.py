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

import pytest

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


def _refusal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SPARRING, *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_cli_serve_device_cuda_without_a_gpu_is_one_line_and_exit_2() -> None:
    result = _refusal("serve", "--port", str(free_port()), "--device", "cuda")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.splitlines() == [
        "sparring: --device cuda: CTranslate2 sees no CUDA device here (a GPU, its driver and"
        " CTranslate2's CUDA libraries are needed); use --device cpu"
    ]


def test_cli_serve_unsupported_compute_type_names_the_supported_ones() -> None:
    result = _refusal("serve", "--port", str(free_port()), "--compute-type", "float16")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("sparring: --compute-type float16 is not supported on cpu here;")
    assert "supported: " in line and "int8" in line


def test_cli_device_flags_are_checked_by_demo_and_analyse_too() -> None:
    demo = _refusal("demo", "--device", "cuda", "--no-color")
    assert demo.returncode == 2 and "Traceback" not in demo.stderr
    assert demo.stderr.startswith("sparring demo: --device cuda: CTranslate2 sees no CUDA device")
    analyse = _refusal(
        "analyse", str(CALLS_DIR / "pushy.rep.flac"), str(CALLS_DIR / "pushy.customer.flac"),
        "--consent", "rep=Anna", "--consent", "customer=Bram", "--device", "cuda",
    )  # fmt: skip
    assert analyse.returncode == 2 and "Traceback" not in analyse.stderr
    assert "sparring analyse: --device cuda: CTranslate2 sees no CUDA device" in analyse.stderr


def test_cli_device_flags_refuse_unknown_names_as_usage_errors() -> None:
    for flags in (["--device", "gpu"], ["--compute-type", "int4"], ["--asr-workers", "0"]):
        result = _refusal("serve", "--model", "none", *flags)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith("sparring serve: error: argument")


def test_cli_serve_model_none_ignores_the_device() -> None:
    # No model, nothing to place: --device cuda is not refused (and not shown).
    port = free_port()
    proc = subprocess.Popen(
        [*SPARRING, "serve", "--port", str(port), "--model", "none", "--device", "cuda"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        shown = []
        while not any("recognition:" in x for x in shown):
            shown.append(lines.get(timeout=10))
        assert "off (--model none)" in shown[-1]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    assert not any("speech device:" in x for x in shown)


@pytest.mark.slow
def test_cli_serve_prints_the_speech_device_in_its_start_lines(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*SPARRING, "serve", "--port", str(port), "--model", "tiny.en", "--data-dir",
         str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        shown: list[str] = []
        while not any("speech device:" in x for x in shown):
            shown.append(lines.get(timeout=60))
        assert shown[-1].split("speech device:")[1].strip() == "cpu, int8 (auto: no CUDA device)"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
