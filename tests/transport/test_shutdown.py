"""Graceful shutdown with real connections: calls end with their report, then 1001, in time."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

from client.stream import Participant, create_session
from models import codec
from models.wire import AudioFormat, Create, ErrorMessage, Hello, Report, State
from server.app import Server
from server.config import Config
from server.store import open_store
from tests.waiting import recv, wait_for

ROOT = Path(__file__).resolve().parents[2]
FMT = AudioFormat(rate=16000, channels=1)


async def test_shutdown_ends_calls_with_their_report_refuses_new_ones_and_drops_stuck_readers(
    tmp_path: Path,
) -> None:
    srv = Server(Config(port=0, model="none", data_dir=str(tmp_path), shutdown_s=6.0))
    await srv.__aenter__()
    stopping: asyncio.Task[None] | None = None
    try:
        created = await create_session(srv.ws_url, "call")
        rep = await Participant(srv.ws_url, created.tokens.rep, "Anna", FMT).__aenter__()
        customer = await Participant(srv.ws_url, created.tokens.customer, "Bob", FMT).__aenter__()
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(asyncio.gather(rep.live.wait(), customer.live.wait()), 5)
        stuck = await connect(srv.ws_url, compression=None)
        await stuck.send(codec.encode(Hello(token=created.tokens.observer, name="Stuck")).decode())
        await wait_for(lambda: len(srv.app.dispatch.connections) == 3, what="observer joined")
        stuck.transport.pause_reading()  # never reads again, never answers the close
        idle = await connect(srv.ws_url)  # connected, in no call yet
        started = time.monotonic()
        stopping = asyncio.create_task(srv.__aexit__(None, None, None))
        await wait_for(lambda: srv.app.dispatch.stopping, what="stopping")
        # No new call while stopping.
        late = await connect(srv.ws_url)
        await late.send(codec.encode(Create(title="late")).decode())
        error = await recv(late)
        assert isinstance(error, ErrorMessage) and error.code == "server_stopping"
        await asyncio.wait_for(stopping, 15)
        took_s = time.monotonic() - started
        assert took_s < 6.0 + 1.0
        for party in (rep, customer):
            await asyncio.wait_for(party.ended.wait(), 5)
            kinds = [m for m in party.messages if isinstance(m, ErrorMessage | Report | State)]
            told = next(i for i, m in enumerate(kinds) if isinstance(m, ErrorMessage))
            assert kinds[told].code == "server_stopping"
            report = next(m for m in kinds[told:] if isinstance(m, Report))
            assert report.url.endswith(f"/v1/sessions/{created.session}/report")
            assert isinstance(kinds[-1], State) and kinds[-1].status == "ended"
            assert party._ws is not None and party._ws.close_code == 1001
        error = await recv(idle)
        assert isinstance(error, ErrorMessage) and error.code == "server_stopping"
        stuck.transport.abort()
        store = open_store(tmp_path)  # the ended call was kept
        try:
            assert store.call(created.session).session == created.session
        finally:
            store.close()
    finally:
        if stopping is None:
            await srv.__aexit__(None, None, None)


def test_sparring_serve_exits_0_within_the_bound_on_sigterm_with_live_calls() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_shutdown.py", "--calls", "3", "--stuck", "1",
         "--shutdown-s", "10"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["exit_code"] == 0
    assert figures["sigterm_to_exit_s"] < 10
    assert figures["parties_told"] == figures["parties"] == 6
    assert figures["close_codes"] == [1001]
