"""`sparring analyse` as a user runs it: real files, a real process, a real store, and the
same call streamed live through a real server for comparison."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import msgspec
import numpy as np
import pytest
import soundfile

from client.stream import Participant, create_session, read_audio
from models.wire import Nudge, Transcript
from server.app import Server
from server.config import Config
from tests.conftest import CALLS_DIR

ROOT = Path(__file__).resolve().parents[2]
SPARRING = [sys.executable, "-m", "client.cli"]
CONSENT = ["--consent", "rep=Anna", "--consent", "customer=Bram"]
REP, CUSTOMER = CALLS_DIR / "pushy.rep.flac", CALLS_DIR / "pushy.customer.flac"


def sparring(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SPARRING, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip


def stereo_of(rep: Path, customer: Path) -> np.ndarray:
    r, c = read_audio(rep).samples, read_audio(customer).samples
    n = max(len(r), len(c))
    return np.stack([np.pad(r, (0, n - len(r))), np.pad(c, (0, n - len(c)))], axis=1)


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pushy call as one stereo WAV: left rep, right customer."""
    path = tmp_path_factory.mktemp("calls") / "pushy.wav"
    soundfile.write(path, stereo_of(REP, CUSTOMER), 16000, subtype="PCM_16")
    return path


def encode(samples: np.ndarray, path: Path, codec: str, rate_hz: int = 16000) -> Path:
    """Writes int16 stereo samples with PyAV (mp3, aac in m4a, opus in ogg)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate_hz)
        stream.layout = "stereo"
        for i in range(0, len(samples), 16000):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[i : i + 16000]).reshape(1, -1), format="s16",
                layout="stereo",
            )  # fmt: skip
            frame.rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def nudges_of(report: dict) -> list[tuple[str, float]]:
    return [(n["rule"], n["at"]) for n in report["nudges"]]


async def stream_live(model: str, speed: float) -> tuple[list[Nudge], list[Transcript], dict]:
    """Streams the pushy call through a real server as two clients; returns what the rep saw."""
    rep_audio, customer_audio = read_audio(REP), read_audio(CUSTOMER)
    async with Server(Config(port=0, model=model)) as srv:
        created = await create_session(srv.ws_url, "live")
        scopes = ("coaching", "transcript")
        async with (
            Participant(srv.ws_url, created.tokens.rep, "Anna", rep_audio.format(), scopes) as rep,
            Participant(
                srv.ws_url, created.tokens.customer, "Bram", customer_audio.format(), scopes
            ) as customer,
        ):
            await rep.consent()
            await customer.consent()
            await asyncio.wait_for(rep.live.wait(), 10)
            start = time.monotonic() + 0.05
            await asyncio.gather(
                rep.stream(rep_audio.frames(), speed=speed, start_at=start),
                customer.stream(customer_audio.frames(), speed=speed, start_at=start),
            )
            if srv.app.asr is not None:
                await srv.app.asr.wait_idle(30)
            await rep.end()
            await asyncio.wait_for(rep.ended.wait(), 10)
        session = srv.app.hub.get(created.session)
        assert session is not None
        report = json.loads(msgspec.json.encode(session.report()))
        return rep.of_type(Nudge), [t for t in rep.of_type(Transcript) if t.final], report


def test_analyse_stereo_prints_the_scorecard_and_keeps_the_call(
    stereo_wav: Path, tmp_path: Path
) -> None:
    result = sparring(
        "analyse", str(stereo_wav), *CONSENT, "--model", "none", "--title", "Pushy",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "analysing [" in result.stderr and "100%" in result.stderr  # the progress bar
    out = result.stdout
    assert out.startswith("Pushy\nAnna with Bram")
    assert "Talk balance" in out and "Talk share: 79%" in out
    command = out.strip().splitlines()[-1].split("Read it again: ", 1)[1]
    assert f"--data-dir {tmp_path}" in command
    again = sparring(*command.split()[1:])
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Pushy\nAnna with Bram") and "Talk share: 79%" in again.stdout


async def test_analyse_kept_call_is_served_by_sparring_serve(stereo_wav: Path, tmp_path: Path) -> None:
    result = sparring(
        "analyse", str(stereo_wav), *CONSENT, "--model", "none", "--json",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # `--token=`: a token may start with "-", which argparse would take for an option.
    token = result.stderr.split("--token=", 1)[1].split()[0]
    async with Server(Config(port=0, model="none", data_dir=str(tmp_path))) as srv:
        proc = await asyncio.create_subprocess_exec(
            *SPARRING, "report", report["session"], f"--token={token}", "--server", srv.http_url,
            "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    served = json.loads(stdout)
    assert served["session"] == report["session"] and served["scorecard"] is not None
    assert nudges_of(served) == nudges_of(report)
    ledger = served["consent"]
    assert [(c["role"], c["name"], c["given_by"], c["declared"]) for c in ledger] == [
        ("rep", "Anna", "uploader", True),
        ("customer", "Bram", "uploader", True),
    ]
    assert all(c["scopes"] == ["coaching", "transcript"] for c in ledger)


def test_analyse_two_mono_files_are_the_stereo_call(stereo_wav: Path, tmp_path: Path) -> None:
    runs = [
        sparring("analyse", *files, *CONSENT, "--model", "none", "--json", "--data-dir", str(tmp_path))
        for files in ([str(stereo_wav)], [str(REP), str(CUSTOMER)])
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    stereo, mono = (json.loads(r.stdout) for r in runs)
    assert nudges_of(stereo) == nudges_of(mono) and nudges_of(mono)
    assert stereo["talk"] == mono["talk"]
    assert stereo["interruptions"] == mono["interruptions"]


def test_analyse_refuses_a_single_mono_track(tmp_path: Path) -> None:
    result = sparring("analyse", str(REP), *CONSENT, "--model", "none", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "single mono track" in result.stderr and "one channel per party" in result.stderr
    both = tmp_path / "both.wav"  # a "stereo" export of a mono call: the same on both sides
    mono = read_audio(REP).samples
    soundfile.write(both, np.stack([mono, mono], axis=1), 16000, subtype="PCM_16")
    result = sparring("analyse", str(both), *CONSENT, "--model", "none", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "same sound on both channels" in result.stderr
    assert not list(tmp_path.glob("*.db")) or "Traceback" not in result.stderr


def test_analyse_refuses_a_recording_without_both_consents(stereo_wav: Path, tmp_path: Path) -> None:
    for consent in ([], ["--consent", "rep=Anna"], ["--consent", "customer=Bram"]):
        result = sparring(
            "analyse", str(stereo_wav), *consent, "--model", "none", "--data-dir", str(tmp_path)
        )
        assert result.returncode == 2, consent
        assert "consent" in result.stderr and "Traceback" not in result.stderr
    result = sparring(
        "analyse", str(stereo_wav), *CONSENT, "--scopes", "transcript", "--model", "none",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2 and "coaching scope is required" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing was kept


@pytest.mark.parametrize(("codec", "suffix"), [("mp3", ".mp3"), ("aac", ".m4a")])
def test_analyse_decodes_compressed_formats(
    codec: str, suffix: str, stereo_wav: Path, tmp_path: Path
) -> None:
    path = encode(stereo_of(REP, CUSTOMER), tmp_path / f"pushy{suffix}", codec)
    runs = [
        sparring("analyse", str(p), *CONSENT, "--model", "none", "--json", "--data-dir", str(tmp_path))
        for p in (path, stereo_wav)
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    compressed, wav = (json.loads(r.stdout) for r in runs)
    assert abs(compressed["duration_s"] - wav["duration_s"]) < 0.5
    assert abs(compressed["talk"]["rep"] - wav["talk"]["rep"]) < 0.02
    assert {rule for rule, _ in nudges_of(compressed)} == {rule for rule, _ in nudges_of(wav)}


def test_analyse_gives_the_nudges_of_the_call_streamed_live(stereo_wav: Path, tmp_path: Path) -> None:
    """Without recognition the analysis is exact: every nudge at the same audio time."""
    nudges, _, live = asyncio.run(stream_live("none", speed=30))
    result = sparring(
        "analyse", str(stereo_wav), *CONSENT, "--model", "none", "--json",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    analysed = json.loads(result.stdout)
    assert [(n.rule, n.at) for n in nudges] == nudges_of(analysed) == nudges_of(live)
    assert len(nudges) >= 4
    for figure in ("talk", "longest_monologue_s", "interruptions", "response_gaps_s"):
        assert analysed[figure] == live[figure], figure


@pytest.mark.slow
def test_analyse_with_recognition_matches_the_call_streamed_live(
    stereo_wav: Path, tmp_path: Path
) -> None:
    """With tiny.en: the same words and figures, and the same nudges up to the first one a
    recognition result can move (live, results come back after a varying delay; the
    analysis hands each back `recording.RESULT_DELAY_S` of audio after it was asked)."""
    nudges, finals, live = asyncio.run(stream_live("tiny.en", speed=2))
    result = sparring(
        "analyse", str(stereo_wav), *CONSENT, "--model", "tiny.en", "--json",
        "--data-dir", str(tmp_path), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    analysed = json.loads(result.stdout)
    lines = {(t["speaker"], round(t["start"], 2), t["text"]) for t in analysed["transcript"]}
    live_lines = {(t.speaker, round(t.start, 2), t.text) for t in finals}
    assert len(lines & live_lines) >= 0.9 * len(live_lines)
    assert analysed["talk"] == live["talk"]
    speech_rules = {"pace", "open_question", "summarize", "fillers", "topics"}
    before = [(n.rule, n.at) for n in nudges]
    first = next((i for i, (rule, _) in enumerate(before) if rule in speech_rules), len(before))
    first_analysed = next(
        (i for i, (rule, _) in enumerate(nudges_of(analysed)) if rule in speech_rules), first
    )
    upto = min(first, first_analysed)
    assert nudges_of(analysed)[:upto] == before[:upto]
    assert analysed["language_report"]["questions"] == live["language_report"]["questions"]
