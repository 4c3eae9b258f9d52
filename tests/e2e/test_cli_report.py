"""`sparring report ID` as a user runs it: a real process against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec

from client.stream import Participant, create_session
from tests.render.calls import call_report, call_scorecard
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


async def sparring(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "client.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


async def _stream(server, call_audio, stream_together, name: str):
    """Streams a bundled call through the server (rep Anna, customer Bob); returns `Created`."""
    rep_a, customer_a = call_audio(name, "rep"), call_audio(name, "customer")
    created = await create_session(server.ws_url, "Pushy <call>")
    async with (
        Participant(server.ws_url, created.tokens.rep, "Anna", rep_a.format()) as rep,
        Participant(server.ws_url, created.tokens.customer, "Bob", customer_a.format()) as customer,
    ):
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), 5)
        await stream_together(rep, customer, rep_a.frames(), customer_a.frames(), 30.0)
        sent = rep_a.samples.nbytes + customer_a.samples.nbytes
        await wait_for(lambda: server.app.stats.audio_bytes >= sent, what="all audio received")
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    return created


async def test_cli_report_prints_a_streamed_calls_report(
    server, call_audio, stream_together, http_get
) -> None:
    created = await _stream(server, call_audio, stream_together, "pushy")
    session = created.session
    _, _, body = await http_get(
        f"/v1/sessions/{session}/report", {"Authorization": f"Bearer {created.tokens.rep}"}
    )
    report = json.loads(body)
    for token in (created.tokens.rep, created.join_urls.rep, server.app.trainer_key):
        rc, out, err = await sparring("report", session, "--server", server.http_url, f"--token={token}")
        assert rc == 0, err
        assert out.startswith("Pushy <call>\nAnna with Bob · duration 2:39 · status ended\n")
        rep_pct = round(report["talk"]["rep"] * 100)
        # An ended call's report carries the scorecard: the terminal prints it.
        assert "Scorecard · Self-reflection: pending" in out
        assert f"✗ needs work    Talk share: {rep_pct}% · at most 60%" in out
        assert f"Interruptions: {len(report['interruptions'])} · at most 2" in out
    rc, out, err = await sparring(
        "report", session, "--server", server.http_url, f"--token={created.tokens.rep}", "--json"
    )
    assert rc == 0, err
    assert json.loads(out) == report
    # The customer reads what they may: the call, no figures, and why.
    rc, out, err = await sparring(
        "report", session, "--server", server.ws_url, f"--token={created.tokens.customer}"
    )
    assert rc == 0, err
    assert "Withheld: The rep's coaching is theirs" in out and "%" not in out


async def test_cli_report_refuses_a_wrong_token_and_an_unreachable_server(server) -> None:
    rc, out, err = await sparring("report", "0123abcd", "--server", server.http_url, "--token", "nope")
    assert rc == 1 and out == "" and "no report of call 0123abcd for this token" in err
    rc, _, err = await sparring("report", "0123abcd", "--server", "127.0.0.1:9", "--token", "x")
    assert rc == 2 and "cannot reach 127.0.0.1:9" in err


class _ReportServer(BaseHTTPRequestHandler):
    body = b""
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


async def test_cli_report_prints_the_scorecard_the_server_sends() -> None:
    # The JSON report with its scorecard under `scorecard` (how the lead's route will send it).
    report = msgspec.to_builtins(call_report("nl_pushy"))
    report["scorecard"] = msgspec.to_builtins(call_scorecard("nl_pushy"))
    _ReportServer.body = json.dumps(report).encode()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ReportServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        rc, out, err = await sparring("report", "call", "--server", url, "--token", f"{url}/#join=abc")
    finally:
        httpd.shutdown()
    assert rc == 0, err
    assert _ReportServer.seen == [("/v1/sessions/call/report", "Bearer abc")]
    assert "Scorekaart · Zelfreflectie: ingevuld · Beoordeeld door: Tom" in out
    for card in call_scorecard("nl_pushy").criteria():
        assert card.label in out
    assert "✗ werkpunt" in out and "Spreektijd: " in out
