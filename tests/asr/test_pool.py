"""AsrPool: fairness, coalescing, finals never dropped, cancellation, degrading; and a
streamed session on the real tiny.en model (slow)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import jiwer
import numpy as np
import pytest
from asr_helpers import normalise

from server.asr.jobs import SAMPLE_RATE_HZ, AsrJob, Recognition, Word
from server.asr.pool import AsrPool
from server.core.commit import SegmentCommitter
from tests.waiting import wait_for


class FakeRecognizer:
    """Takes ``service_s`` per job; can be held at a gate to build up a queue."""

    def __init__(self, service_s: float = 0.01) -> None:
        self.service_s = service_s
        self.calls: list[tuple[int, bool]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = False

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        self.gate.wait(5)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("boom")
        time.sleep(self.service_s)
        marker = int(audio[0])
        self.calls.append((marker, final))
        return Recognition(text=f"{marker}{'F' if final else 'P'}", duration_s=len(audio) / 16000)


def job(session: str, segment: int, final: bool, marker: int = 0, speaker: str = "rep") -> AsrJob:
    audio = np.full(1600, marker, dtype=np.float32)
    return AsrJob(session, speaker, segment, final, audio, 0.0, "en", time.monotonic())


async def drain(pool: AsrPool, timeout_s: float = 5.0) -> None:
    await wait_for(
        lambda: not pool.queue_depth() and not pool.stats().running, timeout_s, "pool drained"
    )


async def running(pool: AsrPool, jobs: int = 1) -> None:
    """Waits until a worker has taken the job just submitted (it then holds at the gate)."""
    await wait_for(lambda: pool.stats().running == jobs, what=f"{jobs} job(s) running")


async def test_pool_delivers_result_in_event_loop_thread() -> None:
    results = []
    loop_thread = threading.get_ident()
    async with AsrPool(
        FakeRecognizer(), lambda j, r: results.append((j, r, threading.get_ident()))
    ) as pool:
        pool.submit(job("s1", 1, True, marker=7))
        await drain(pool)
    assert [(r.text, t) for _, r, t in results] == [("7F", loop_thread)]


async def test_pool_coalesces_partials_and_final_supersedes_them() -> None:
    recognizer = FakeRecognizer()
    results = []
    async with AsrPool(recognizer, lambda j, r: results.append(r.text), workers=1) as pool:
        recognizer.gate.clear()
        pool.submit(job("busy", 0, True, marker=99))  # occupies the only worker
        await running(pool)
        pool.submit(job("s1", 1, False, marker=1))
        pool.submit(job("s1", 1, False, marker=2))  # replaces marker 1
        pool.submit(job("s1", 2, False, marker=3))
        pool.submit(job("s1", 2, True, marker=4))  # drops queued partials 2 and 3
        pool.submit(job("s1", 2, False, marker=5))  # moot: final queued
        pool.submit(job("s2", 1, False, marker=6))
        pool.submit(job("s3", 1, True, marker=7))
        recognizer.gate.set()
        await drain(pool)
    assert results == ["99F", "4F", "7F", "6P"]  # finals first, then partials
    assert pool.stats().coalesced == 4


async def test_pool_round_robin_across_sessions() -> None:
    recognizer = FakeRecognizer()
    async with AsrPool(recognizer, lambda j, r: None, workers=1, merge_max_audio_s=0) as pool:
        recognizer.gate.clear()
        pool.submit(job("blocker", 0, True, marker=0))
        await running(pool)
        for segment in range(1, 4):  # a chatty session queues three finals first
            pool.submit(job("chatty", segment, True, marker=10 + segment))
        pool.submit(job("quiet", 1, True, marker=21))
        pool.submit(job("other", 1, True, marker=31, speaker="customer"))
        recognizer.gate.set()
        await drain(pool)
    order = [marker for marker, _ in recognizer.calls]
    # one party's jobs run in order, but the quiet sessions do not wait behind all of them
    assert order[:4] == [0, 11, 21, 31]
    assert order[4:] == [12, 13]


async def test_pool_never_drops_finals_when_partials_overflow() -> None:
    recognizer = FakeRecognizer()
    finals = []
    async with AsrPool(
        recognizer,
        lambda j, r: finals.append(j.segment) if j.final else None,
        workers=1,
        max_queued_partials=3,
    ) as pool:
        recognizer.gate.clear()
        pool.submit(job("blocker", 0, False))
        await running(pool)
        for index in range(20):
            pool.submit(job(f"s{index}", 1, False))
            pool.submit(job(f"f{index}", 1, True))
        assert pool.stats().queued_partials == 3
        recognizer.gate.set()
        await drain(pool)
    assert len(finals) == 20
    assert pool.stats().dropped_overflow == 17


async def test_pool_cancel_session_drops_queued_and_discards_running() -> None:
    recognizer = FakeRecognizer()
    delivered = []
    async with AsrPool(recognizer, lambda j, r: delivered.append(j.session_id), workers=1) as pool:
        recognizer.gate.clear()
        pool.submit(job("gone", 1, True))  # will be running when cancelled
        await running(pool)
        pool.submit(job("gone", 2, True))
        pool.submit(job("gone", 3, False))
        pool.submit(job("stays", 1, True))
        assert pool.cancel_session("gone") == 3
        assert pool.queue_depth() == 1
        recognizer.gate.set()
        await drain(pool)
    assert delivered == ["stays"]
    assert pool.stats().cancelled == 3


async def test_pool_failed_final_still_delivered_empty() -> None:
    recognizer = FakeRecognizer()
    recognizer.fail_next = True
    results = []
    async with AsrPool(recognizer, lambda j, r: results.append(r)) as pool:
        pool.submit(job("s1", 1, True))
        await drain(pool)
    assert [(r.text, r.rejected) for r in results] == [("", "error")]


async def test_pool_degrades_under_backlog_and_recovers() -> None:
    recognizer = FakeRecognizer(service_s=0.05)
    async with AsrPool(recognizer, lambda j, r: None, workers=1) as pool:
        assert pool.partial_interval_s() == 1.0
        pool.submit(job("warm", 0, True))
        await drain(pool)
        for index in range(40):  # 40 parties x 50 ms each: ~2 s of backlog
            pool.submit(job(f"s{index}", 1, True))
        assert pool.degrade_level == 2 and pool.partial_interval_s() is None
        pool.submit(job("late", 1, False))
        assert pool.stats().dropped_degraded == 1  # partials off, finals still queued
        await drain(pool, timeout_s=10)
        pool.submit(job("after", 1, True))
        await drain(pool)
        assert pool.degrade_level < 2


async def test_pool_one_session_s_backlog_does_not_turn_partials_off_for_the_others() -> None:
    recognizer = FakeRecognizer(service_s=0.05)
    async with AsrPool(recognizer, lambda j, r: None, workers=2) as pool:
        pool.submit(job("warm", 0, True))  # the pool learns what a job takes
        await drain(pool)
        recognizer.gate.clear()
        for segment in range(30):  # a replay far faster than real time: 30 finals waiting
            pool.submit(job("replay", segment, True))
        pool.submit(job("live", 1, True))
        assert pool.degrade_level == 0 and pool.partial_interval_s() == 1.0
        for index in range(100):  # but many sessions waiting is an overload
            pool.submit(job(f"s{index}", 1, True))
        assert pool.degrade_level == 2
        recognizer.gate.set()
        await drain(pool, timeout_s=10)


async def test_pool_a_party_behind_gets_no_partials_while_the_others_keep_theirs() -> None:
    recognizer = FakeRecognizer()
    async with AsrPool(recognizer, lambda j, r: None, workers=1) as pool:
        recognizer.gate.clear()
        pool.submit(job("busy", 0, True))
        await running(pool)
        for segment in range(3):  # a replay: three finals of one party waiting
            pool.submit(job("replay", segment, True))
        pool.submit(job("replay", 3, False))
        assert pool.stats().dropped_degraded == 1  # it would come after them, stale
        pool.submit(job("live", 1, False))
        assert pool.stats().dropped_degraded == 1 and pool.stats().queued_partials == 1
        recognizer.gate.set()
        await drain(pool)


async def test_pool_reports_each_degrade_level_change_once() -> None:
    recognizer = FakeRecognizer(service_s=0.05)
    seen: list[tuple[int, float | None]] = []
    pool = AsrPool(
        recognizer,
        lambda j, r: None,
        workers=1,
        on_level=lambda level: seen.append((level, pool.partial_interval_s())),
    )
    async with pool:
        pool.submit(job("warm", 0, True))
        await drain(pool)
        assert seen == []  # no change, no call: nothing happens per job
        for index in range(40):
            pool.submit(job(f"s{index}", 1, True))
        assert seen[-1] == (2, None)  # told inside submit, with the level already in effect
        await drain(pool, timeout_s=10)
        pool.submit(job("after", 1, True))
        await drain(pool)
    levels = [level for level, _ in seen]
    assert 2 in levels and levels[-1] == pool.degrade_level < 2
    assert all(a != b for a, b in zip(levels, levels[1:], strict=False))
    assert all(interval == {0: 1.0, 1: 2.0}.get(level) for level, interval in seen)


async def test_pool_reports_latency_of_delivered_jobs_only() -> None:
    recognizer = FakeRecognizer(service_s=0.02)
    recognizer.gate.clear()
    latencies: list[tuple[str, bool, float]] = []
    delivered: list[str] = []
    async with AsrPool(
        recognizer,
        lambda j, r: delivered.append(j.session_id),
        workers=1,
        on_latency=lambda j, s: latencies.append((j.session_id, j.final, s)),
    ) as pool:
        pool.submit(job("kept", 1, True))
        pool.submit(job("kept", 2, False))
        pool.submit(job("gone", 1, True))
        await asyncio.sleep(0.01)  # "kept" 1 is running, held at the gate
        pool.cancel_session("gone")
        recognizer.gate.set()
        await drain(pool)
    assert delivered == ["kept", "kept"]
    assert [(s, final) for s, final, _ in latencies] == [("kept", True), ("kept", False)]
    assert all(0.0 < seconds < 5.0 for _, _, seconds in latencies)


def speech_with_pauses(clips, names, pause_s=0.8):
    pieces, spans = [], []
    cursor = int(0.5 * SAMPLE_RATE_HZ)
    pieces.append(np.zeros(cursor, np.float32))
    for name in names:
        audio = clips[name][0]
        spans.append((cursor, cursor + len(audio), clips[name][1]))
        pieces += [audio, np.zeros(int(pause_s * SAMPLE_RATE_HZ), np.float32)]
        cursor += len(audio) + int(pause_s * SAMPLE_RATE_HZ)
    return np.concatenate(pieces), spans


@pytest.mark.slow
async def test_pool_streamed_finals_match_offline_and_never_change(clips, recognizer) -> None:
    """Two sessions stream utterances in real time (1 s partials, final at the end)."""
    names = ["rep_intro", "customer_budget", "rep_question", "customer_pricing"]
    committers: dict[tuple[str, int], SegmentCommitter] = {}
    finals: dict[tuple[str, int], str] = {}
    partials_seen = 0

    def on_result(job: AsrJob, recognition: Recognition) -> None:
        nonlocal partials_seen
        committer = committers.setdefault((job.session_id, job.segment), SegmentCommitter())
        if job.final:
            assert (job.session_id, job.segment) not in finals, "a final arrived twice"
            finals[(job.session_id, job.segment)] = " ".join(
                w.w for w in committer.on_final(recognition.words)
            )
        elif committer.on_partial(recognition.words) is not None:
            partials_seen += 1

    async def stream(pool: AsrPool, session: str, order: list[str]) -> None:
        for segment, name in enumerate(order):
            audio = clips[name][0]
            step = SAMPLE_RATE_HZ  # a partial per second of speech, in real time
            for end in range(step, len(audio), step):
                await asyncio.sleep(1.0)
                pool.submit(
                    AsrJob(session, "rep", segment, False, audio[:end], 0.0, "en", time.monotonic())
                )
            await asyncio.sleep((len(audio) % step) / SAMPLE_RATE_HZ)
            pool.submit(AsrJob(session, "rep", segment, True, audio, 0.0, "en", time.monotonic()))

    async with AsrPool(recognizer, on_result, workers=2) as pool:
        await asyncio.gather(
            stream(pool, "a", names[:2]),
            stream(pool, "b", names[2:]),
        )
        await drain(pool, timeout_s=20)
        stats = pool.stats()

    assert partials_seen >= 6
    offline = {n: recognizer.recognize(clips[n][0], language="en", final=True).text for n in names}
    order = {"a": names[:2], "b": names[2:]}
    streamed = [finals[(s, i)] for s in "ab" for i in range(2)]
    offline_texts = [offline[order[s][i]] for s in "ab" for i in range(2)]
    references = [normalise(clips[order[s][i]][1]) for s in "ab" for i in range(2)]
    wer_streamed = jiwer.wer(references, [normalise(t) for t in streamed])
    wer_offline = jiwer.wer(references, [normalise(t) for t in offline_texts])
    assert wer_streamed <= wer_offline * 1.1 + 1e-9
    assert stats.final_latency_p95_s is not None  # latency was measured (figures: bench_asr)
    # a final never changes: the committers answer the same final again
    for (session, segment), text in finals.items():
        assert " ".join(w.w for w in committers[(session, segment)].committed) == text


@pytest.mark.slow
async def test_pool_cancel_session_with_real_model(clips, recognizer) -> None:
    delivered = []
    audio = clips["rep_intro"][0]
    async with AsrPool(
        recognizer, lambda j, r: delivered.append(j.session_id), workers=1, merge_max_audio_s=0
    ) as pool:
        for segment in range(4):
            pool.submit(AsrJob("gone", "rep", segment, True, audio, 0.0, "en", time.monotonic()))
        pool.submit(AsrJob("kept", "rep", 0, True, audio, 0.0, "en", time.monotonic()))
        await running(pool)  # the first job is running now
        assert pool.cancel_session("gone") == 4
        await drain(pool, timeout_s=10)
    assert delivered == ["kept"]


async def test_pool_drops_stale_partials_but_runs_finals() -> None:
    recognizer = FakeRecognizer()
    results = []
    async with AsrPool(recognizer, lambda j, r: results.append(r.text), workers=1) as pool:
        old = time.monotonic() - 5.0
        pool.submit(AsrJob("s1", "rep", 1, False, np.full(160, 1, np.float32), 0.0, "en", old))
        pool.submit(AsrJob("s2", "rep", 1, True, np.full(160, 2, np.float32), 0.0, "en", old))
        await drain(pool)
    assert results == ["2F"]
    assert pool.stats().dropped_stale == 1


class WordyRecognizer(FakeRecognizer):
    """Answers one word per 0.1 s of non-silent audio, with its time, like Whisper does
    for the joined finals of a party that fell behind."""

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        self.gate.wait(5)
        self.calls.append((len(audio), final))
        words = []
        for start in range(0, len(audio), 1600):
            value = int(audio[start])
            if value:
                words.append(Word(f"w{value}", start / 16000, (start + 1600) / 16000))
        text = " ".join(w.w for w in words)
        return Recognition(text=text, words=tuple(words), duration_s=len(audio) / 16000)


def final(session: str, segment: int, marker: int, seconds: float = 1.0) -> AsrJob:
    audio = np.full(round(seconds * 16000), marker, dtype=np.float32)
    return AsrJob(session, "rep", segment, True, audio, 0.0, "en", time.monotonic())


async def _three_finals_behind(recognizer: WordyRecognizer) -> tuple[list, AsrPool]:
    """Segments 1-3 of one party (markers 1-3) wait behind another call's final (0, marker
    9) on one worker, then run; returns (segment, recognition) as delivered, and the pool."""
    results = []
    async with AsrPool(recognizer, lambda j, r: results.append((j.segment, r)), workers=1) as pool:
        recognizer.gate.clear()
        pool.submit(final("other", 0, 9))
        await running(pool)
        for segment, marker in ((1, 1), (2, 2), (3, 3)):
            pool.submit(final("behind", segment, marker))
        recognizer.gate.set()
        await drain(pool)
    return results, pool


async def test_pool_joins_waiting_finals_of_one_party_and_splits_the_words_back() -> None:
    recognizer = WordyRecognizer()
    results, pool = await _three_finals_behind(recognizer)
    # One decode for the three waiting finals (joined with 0.3 s of silence), not three.
    assert [length for length, _ in recognizer.calls] == [16000, 3 * 16000 + 2 * 4800]
    assert pool.stats().merged == 2
    assert [segment for segment, _ in results] == [0, 1, 2, 3]
    for (segment, recognition), marker in zip(results[1:], (1, 2, 3), strict=True):
        assert recognition.text == " ".join([f"w{marker}"] * 10)
        assert recognition.duration_s == 1.0
        # Times are the piece's own again, inside its audio.
        assert recognition.words[0].start_s == 0.0
        assert all(0.0 <= w.start_s <= w.end_s <= 1.0 for w in recognition.words)


class EarlyStoppingRecognizer(WordyRecognizer):
    """Ends a joined decode's text after its first second, as Whisper sometimes does (tiny.en
    on the bundled `closed` call: two rep utterances joined gave the first one's words)."""

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        whole = super().recognize(audio, language=language, final=final, prompt=prompt)
        words = tuple(w for w in whole.words if w.end_s <= 1.0)
        return Recognition(" ".join(w.w for w in words), words, duration_s=whole.duration_s)


async def test_pool_recognises_again_alone_a_joined_final_left_without_words() -> None:
    recognizer = EarlyStoppingRecognizer()
    results, pool = await _three_finals_behind(recognizer)
    # The joined decode, then each piece it left empty on its own.
    assert [length for length, _ in recognizer.calls] == [16000, 3 * 16000 + 2 * 4800, 16000, 16000]
    assert pool.stats().rerun_alone == 2
    assert {segment: r.text for segment, r in results[1:]} == {
        1: " ".join(["w1"] * 10),
        2: " ".join(["w2"] * 10),
        3: " ".join(["w3"] * 10),
    }


class UnsureOfJoinsRecognizer(WordyRecognizer):
    """Rejects a joined decode as a whole (low confidence), as Whisper may be on two
    utterances glued together while each alone is clear; silence stays silence."""

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        whole = super().recognize(audio, language=language, final=final, prompt=prompt)
        if len(audio) <= 16000:
            return whole
        reason = "no_speech" if not np.any(audio) else "low_confidence"
        return Recognition("", duration_s=whole.duration_s, rejected=reason)


async def test_pool_recognises_again_alone_the_pieces_of_a_joined_decode_rejected_as_unsure() -> (
    None
):
    recognizer = UnsureOfJoinsRecognizer()
    results, pool = await _three_finals_behind(recognizer)
    assert [length for length, _ in recognizer.calls] == [16000, 3 * 16000 + 2 * 4800] + [16000] * 3
    assert pool.stats().rerun_alone == 3
    assert {segment: r.text for segment, r in results[1:]} == {
        marker: " ".join([f"w{marker}"] * 10) for marker in (1, 2, 3)
    }


async def test_pool_does_not_recognise_again_pieces_of_a_joined_decode_heard_as_silence(
    caplog,
) -> None:
    recognizer = UnsureOfJoinsRecognizer()
    caplog.set_level(logging.DEBUG, logger="sparring.asr")
    results = []
    async with AsrPool(recognizer, lambda j, r: results.append(j.segment), workers=1) as pool:
        recognizer.gate.clear()
        pool.submit(final("other", 0, 9))
        await running(pool)
        for segment in (1, 2):
            pool.submit(final("behind", segment, 0))
        recognizer.gate.set()
        await drain(pool)
    assert [length for length, _ in recognizer.calls] == [16000, 2 * 16000 + 4800]
    assert pool.stats().rerun_alone == 0 and results == [0, 1, 2]
    # Why each came back empty is logged, without any words.
    lines = [r.getMessage() for r in caplog.records if "recognised nothing" in r.getMessage()]
    assert lines == [
        f"final behind/rep #{segment} recognised nothing (no_speech): 1.00 s, 2 in its decode"
        for segment in (1, 2)
    ]


async def test_pool_joins_no_more_audio_than_the_merge_bound() -> None:
    recognizer = WordyRecognizer()
    async with AsrPool(recognizer, lambda j, r: None, workers=1, merge_max_audio_s=10) as pool:
        recognizer.gate.clear()
        pool.submit(final("other", 0, 9))
        await running(pool)
        for segment in range(1, 4):
            pool.submit(final("behind", segment, segment, seconds=4.0))
        recognizer.gate.set()
        await drain(pool)
    assert [length / 16000 for length, _ in recognizer.calls] == [1.0, 8.3, 4.0]


async def test_pool_call_far_behind_loses_its_oldest_finals_not_other_calls_time() -> None:
    recognizer = WordyRecognizer()
    results = []
    async with AsrPool(
        recognizer,
        lambda j, r: results.append((j.session_id, j.segment, r.rejected)),
        workers=1,
        max_queued_final_audio_s=10,
        merge_max_audio_s=0,
    ) as pool:
        recognizer.gate.clear()
        pool.submit(final("other", 0, 9))
        await running(pool)
        for segment in range(1, 6):  # 20 s of speech waiting: twice the bound
            pool.submit(final("flood", segment, segment, seconds=4.0))
        pool.submit(final("quiet", 1, 7))
        # The oldest are delivered at once, empty: the call learns of its gap now.
        await wait_for(lambda: len(results) == 3, what="dropped finals delivered")
        assert results == [
            ("flood", 1, "overflow"),
            ("flood", 2, "overflow"),
            ("flood", 3, "overflow"),
        ]
        recognizer.gate.set()
        await drain(pool)
    assert pool.stats().dropped_finals == 3
    ran = [(s, seg) for s, seg, rejected in results if rejected is None]
    # The quiet call's final ran right after the flood's first kept one, not after all.
    assert ran == [("other", 0), ("flood", 4), ("quiet", 1), ("flood", 5)]


class GreedyAware(FakeRecognizer):
    def recognize(self, audio, *, language, final, prompt=None, greedy=False) -> Recognition:
        recognition = super().recognize(audio, language=language, final=final, prompt=prompt)
        self.calls[-1] = (self.calls[-1][0], greedy)
        return recognition


async def test_pool_decodes_finals_greedily_only_while_far_behind() -> None:
    recognizer = GreedyAware(service_s=0.05)
    async with AsrPool(recognizer, lambda j, r: None, workers=1, greedy_when_behind=True) as pool:
        pool.submit(job("warm", 0, True, marker=1))
        await drain(pool)
        for index in range(40):  # ~2 s of backlog: partials off, finals greedy
            pool.submit(job(f"s{index}", 1, True, marker=2))
        await drain(pool, timeout_s=10)
        pool.submit(job("after", 1, True, marker=3))
        await drain(pool)
    greedy = {marker: g for marker, g in recognizer.calls}
    assert greedy[1] is False and greedy[3] is False  # beam search when keeping up
    assert any(g for marker, g in recognizer.calls if marker == 2)


class TimedByLength(FakeRecognizer):
    """Takes 10 ms per 0.1 s of audio: a long joined decode takes long."""

    def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
        self.service_s = len(audio) / 16000 / 10
        return super().recognize(audio, language=language, final=final, prompt=prompt)


async def test_pool_shares_recognition_time_not_turns_between_calls() -> None:
    recognizer = TimedByLength()
    async with AsrPool(recognizer, lambda j, r: None, workers=1, merge_max_audio_s=0) as pool:
        recognizer.gate.clear()
        for segment, marker in ((1, 1), (2, 2)):  # a replay: long finals
            pool.submit(final("replay", segment, marker, seconds=5.0))
        for segment, marker in ((1, 11), (2, 12), (3, 13)):  # a live call: short ones
            pool.submit(final("live", segment, marker, seconds=0.5))
        recognizer.gate.set()
        await drain(pool)
    # Turn by turn the live call would wait for the second replay final (0.5 s); by time
    # used, its three finals (0.15 s in all) go first.
    assert [marker for marker, _ in recognizer.calls] == [1, 11, 12, 13, 2]


def test_recognition_parts_without_word_times_give_the_text_to_the_first_piece() -> None:
    from server.asr.pool import recognition_parts

    group = [final("s", 1, 1), final("s", 2, 2, seconds=2.0)]
    parts = recognition_parts(Recognition(text="hello there", duration_s=3.3), group)
    assert [(p.text, p.duration_s) for p in parts] == [("hello there", 1.0), ("", 2.0)]


async def test_pool_queues_pcm16_and_recognises_it_as_float32() -> None:
    """A waiting job holds the audio as the PCM16 it came as (half of float32); recognition
    gets the float32 samples it takes, alone and joined with the party's other finals."""
    heard: list[np.ndarray] = []

    class Listening(FakeRecognizer):
        def recognize(self, audio, *, language, final, prompt=None) -> Recognition:
            heard.append(audio)
            return super().recognize(audio, language=language, final=final, prompt=prompt)

    recognizer = Listening()
    pcm = np.array([16384, -32768, 3], dtype="<i2")
    queued = AsrJob("s1", "rep", 1, True, pcm, 0.0, "en", time.monotonic())
    assert queued.audio.nbytes == 6 and queued.duration_s == 3 / 16000
    async with AsrPool(recognizer, lambda j, r: None, workers=1) as pool:
        recognizer.gate.clear()
        pool.submit(job("busy", 0, True))
        await running(pool)
        pool.submit(queued)
        pool.submit(AsrJob("s1", "rep", 2, True, pcm, 0.5, "en", time.monotonic()))
        recognizer.gate.set()
        await drain(pool)
    joined = heard[-1]
    assert joined.dtype == np.float32
    assert joined[:3].tolist() == [0.5, -1.0, 3 / 32768]
    assert joined[-3:].tolist() == [0.5, -1.0, 3 / 32768]
    with pytest.raises(ValueError, match="int16 or float32"):
        AsrJob("s1", "rep", 3, True, pcm.astype(np.int32), 0.0, "en", time.monotonic())
