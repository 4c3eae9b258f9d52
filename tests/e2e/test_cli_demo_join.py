"""The demo tells the truth, and `sparring join` grants what it is asked (issue 11, item 6):
real processes against real servers, and the demo's terminal view on scripted messages."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from client.demo import TerminalView
from client.stream import Participant, create_session, read_audio
from models.wire import Metrics, Nudge, Severity, TalkShare, Transcript
from server.app import Server
from server.config import Config
from tests.conftest import CALLS_DIR

SPARRING = [sys.executable, "-m", "client.cli"]
ROOT = Path(__file__).resolve().parents[2]
STAMP = re.compile(r"^\[\s*(\d+\.\d)s\]")


def test_cli_demo_prints_in_audio_time_order_and_its_report_outlives_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SPARRING, "demo", "--call", "pushy", "--model", "none", "--speed", "30", "--no-color",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not any("waiting waiting" in line for line in lines)
    assert any(line.endswith("waiting for: rep consent, customer consent") for line in lines)
    times = [float(m[1]) for line in lines if (m := STAMP.match(line))]
    assert len(times) > 20 and times == sorted(times)
    assert "http://" not in result.stdout  # no link to a server that is gone
    command = next(line for line in lines if "sparring report " in line).split("sparring ", 1)[1]
    report = subprocess.run(
        [*SPARRING, *command.split()], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("Demo: pushy") and "Talk share: 79%" in report.stdout


def _metrics(at: float) -> Metrics:
    share = TalkShare(rep=0.5, customer=0.5)
    return Metrics(
        at=at, talk=share, talk_window=share, longest_monologue_s=0.0, current_monologue_s=0.0,
        interruptions=0, overlaps=0, mean_response_gap_s=None, silence_s=0.0,
    )  # fmt: skip


def _final(speaker: str, segment: int, start: float, text: str, *, final: bool = True) -> Transcript:
    return Transcript(
        speaker=speaker, segment=segment, text=text, final=final, start=start, end=start + 1
    )


def test_demo_view_puts_a_late_transcript_before_what_followed_it(capsys) -> None:
    view = TerminalView(color=False, speed=1.0)  # holds lines 4 s of audio at first
    view.show(_final("rep", 1, 0.0, "Hello", final=False))  # being spoken: holds what follows
    for at in range(1, 12):
        view.show(_metrics(float(at)))
    view.show(Nudge(id="n1", rule="monologue", text="Pause", severity=Severity.INFO, at=6.0))
    view.show(_final("rep", 1, 0.0, "Hello there, a long first sentence"))  # 11 s late
    view.show(_final("customer", 2, 9.0, "Hi"))
    for at in range(12, 30):
        view.show(_metrics(float(at)))
    view.show(_final("rep", 3, 20.0, "Late again (9 s), but within the learnt hold (12 s)"))
    view.flush()
    lines = capsys.readouterr().out.splitlines()
    times = [float(m[1]) for line in lines if (m := STAMP.match(line))]
    assert times == sorted(times)
    assert lines.index("[   0.0s]   rep: Hello there, a long first sentence") < next(
        i for i, line in enumerate(lines) if "NUDGE" in line
    )


async def _join(server: Server, *extra: str) -> tuple[int, str, object]:
    created = await create_session(server.ws_url, "join")
    rep_audio = read_audio(CALLS_DIR / "good.rep.flac")
    proc = await asyncio.create_subprocess_exec(
        *SPARRING, "join", "--server", server.http_url, "--token", created.join_urls.customer,
        "--wav", str(CALLS_DIR / "good.customer.flac"), "--speed", "30", "--name", "Bob", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    async with Participant(server.ws_url, created.tokens.rep, "Anna", rep_audio.format()) as rep:
        await rep.consent()
        await asyncio.wait_for(rep.live.wait(), 30)
        await rep.stream(rep_audio.frames(), speed=30)
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        await rep.end()
    session = server.app.hub.get(created.session)
    assert proc.returncode is not None
    return proc.returncode, stderr.decode(), session


async def test_cli_join_shows_the_terms_and_grants_only_the_scopes_asked() -> None:
    async with Server(Config(port=0, model="none")) as srv:
        code, stderr, session = await _join(srv)
        assert code == 0, stderr
        assert "Consent terms (you):" in stderr
        assert "[yes] coaching" in stderr and "[yes] transcript" in stderr
        assert "[no ] trainer_view" in stderr
        customer = [c for c in session.report().consent if c.role.value == "customer"]
        assert [c.scopes for c in customer] == [("coaching", "transcript")]
        assert customer[0].given_by == "Bob" and not customer[0].declared

        code, stderr, session = await _join(srv, "--scopes", "coaching,transcript,trainer_view")
        assert code == 0, stderr
        assert "[yes] trainer_view" in stderr
        customer = [c for c in session.report().consent if c.role.value == "customer"]
        assert [c.scopes for c in customer] == [("coaching", "trainer_view", "transcript")]


def test_cli_join_refuses_scopes_without_coaching() -> None:
    result = subprocess.run(
        [*SPARRING, "join", "--server", "127.0.0.1:9", "--token", "x", "--wav",
         str(CALLS_DIR / "good.customer.flac"), "--scopes", "transcript,trainer_view"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2 and "coaching scope is required" in result.stderr
