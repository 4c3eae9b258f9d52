"""The wiring, with a stand-in recognizer: recognition requests reach the pool, results come
back to the participants, and /metrics shows the pool."""

from __future__ import annotations

import asyncio
import time
from itertools import islice
from types import SimpleNamespace

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from client.stream import Participant, create_session
from models.wire import AudioFormat, Transcript
from server import app as app_module
from server.app import Server
from server.asr.jobs import AsrJob, Recognition, Word
from server.config import Config
from server.core.session import Session


class StandInRecognizer:
    """Says "hello there" for any audio; built as `app.start` builds the real one."""

    service_s = 0.0
    multilingual = False

    def __init__(self, model: str, **options: object) -> None:
        self.name = model
        self.load_s = 0.0
        self.model_info = SimpleNamespace(path="stand-in")
        self.num_workers = options["num_workers"]  # what the app asked for, as the real one

    def warm_up(self) -> None:
        pass

    def supports(self, language: str) -> bool:
        return language == "en"

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        time.sleep(self.service_s)
        words = (Word("hello", 0.0, 0.3), Word("there.", 0.3, 0.6))
        return Recognition("hello there.", words, duration_s=len(audio) / 16000)


@pytest.fixture
async def server(monkeypatch):
    monkeypatch.setattr(app_module, "Recognizer", StandInRecognizer)
    async with Server(Config(port=0, model="stand-in")) as srv:
        yield srv


async def test_app_wires_recognition_and_its_metrics(server, call_audio, stream_together, http_get):
    created = await create_session(server.ws_url, "asr")
    rep_a, customer_a = call_audio("good", "rep"), call_audio("good", "customer")
    fmt = AudioFormat(rate=16000, channels=1)
    async with (
        Participant(server.ws_url, created.tokens.rep, "Anna", fmt) as rep,
        Participant(server.ws_url, created.tokens.customer, "Bob", fmt) as customer,
    ):
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), 5)
        frames = 150
        await stream_together(
            rep, customer, islice(rep_a.frames(), frames), islice(customer_a.frames(), frames), 20
        )
        assert await server.app.asr.wait_idle(5)
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    # The end flushes the last words to recognition: the gauges read idle once it is done.
    assert await server.app.asr.wait_idle(10)
    finals = [t for t in rep.of_type(Transcript) if t.final]
    assert finals and all(t.text == "hello there." for t in finals)

    status, _, body = await http_get("/metrics")
    assert status == 200
    f = {family.name: family for family in text_string_to_metric_families(body.decode())}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in f.values()
        for s in family.samples
    }
    completed = samples[("sparring_asr_jobs_total", (("outcome", "completed"),))]
    assert completed >= len(finals)
    assert samples[("sparring_asr_jobs_submitted_total", ())] >= completed
    final_latencies = samples[("sparring_asr_latency_seconds_count", (("kind", "final"),))]
    assert final_latencies >= len(finals)
    assert samples[("sparring_asr_degrade_level", ())] == 0
    assert samples[("sparring_asr_queued_jobs", (("kind", "final"),))] == 0
    assert samples[("sparring_asr_running_jobs", ())] == 0
    assert f["sparring_asr_jobs"].type == "counter"


async def test_app_degrade_level_reaches_open_sessions(server, monkeypatch):
    told: list[tuple[str, float | None]] = []
    monkeypatch.setattr(
        Session, "set_partial_interval", lambda self, seconds: told.append((self.title, seconds))
    )
    await create_session(server.ws_url, "first")
    assert told == [("first", 1.0)]  # a new session gets the interval in effect

    monkeypatch.setattr(StandInRecognizer, "service_s", 0.05)
    pool = server.app.asr
    silence = np.zeros(1600, np.float32)
    pool.submit(AsrJob("0", "rep", 0, True, silence, 0.0, "en", time.monotonic()))
    assert await pool.wait_idle(5)
    for index in range(80):  # jobs of no session: about 2 s of backlog on 2 workers
        pool.submit(AsrJob(f"{index}", "rep", 1, True, silence, 0.0, "en", time.monotonic()))
    assert pool.degrade_level == 2
    assert told[-1] == ("first", None)  # told at once, from inside `submit`
    await create_session(server.ws_url, "late")
    assert told[-1] == ("late", None)
    assert await pool.wait_idle(10)
    assert pool.degrade_level == 0
    assert told[-2:] == [("first", 1.0), ("late", 1.0)]
