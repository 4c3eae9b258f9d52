"""The finals a call keeps for its report: compressed, and given back unchanged (pure, fast)."""

from __future__ import annotations

import gc
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from models.wire import Transcript, Word
from server.core.finals import BLOCK_FINALS, Finals

_word_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=8)
_time_s = st.floats(min_value=0.0, max_value=86_400.0, allow_nan=False).map(lambda t: round(t, 3))


@st.composite
def transcripts(draw: st.DrawFn) -> Transcript:
    texts = draw(st.lists(_word_text, max_size=12))
    times = sorted(draw(st.lists(_time_s, min_size=2 * len(texts), max_size=2 * len(texts))))
    words = tuple(Word(w=w, start=times[2 * i], end=times[2 * i + 1]) for i, w in enumerate(texts))
    text = " ".join(texts).strip() if draw(st.booleans()) else draw(_word_text)
    return Transcript(
        speaker=draw(st.sampled_from(["rep", "customer"])),
        segment=draw(st.integers(1, 10_000)),
        text=text,
        final=True,
        start=words[0].start if words else 0.0,
        end=words[-1].end if words else 0.0,
        words=words,
        question=draw(st.sampled_from([None, "open", "closed"])),
        tip=draw(st.sampled_from([None, "ask what, not why"])),
        summary=draw(st.booleans()),
    )


@given(st.lists(transcripts(), max_size=6))
def test_the_report_gets_every_final_back_unchanged_and_in_order(messages):
    finals = Finals()
    for message in messages:
        finals.append(message)
    assert len(finals) == len(messages)
    assert list(finals) == messages  # words, times, marks: as they were sent


@given(
    st.lists(transcripts(), min_size=BLOCK_FINALS, max_size=2 * BLOCK_FINALS + 3),
    st.integers(0, 2 * BLOCK_FINALS + 3),
)
def test_finals_across_compressed_blocks_and_an_early_seal_come_back_in_order(messages, seal_at):
    # A call that ends seals its open block; finals recognised after the end still count.
    finals = Finals()
    for i, message in enumerate(messages):
        if i == seal_at:
            finals.seal()
        finals.append(message)
    assert len(finals) == len(messages)
    assert list(finals) == messages
    finals.seal()
    assert list(finals) == messages


def _final(i: int) -> Transcript:
    texts = [f"word{(i * 12 + k) % 997}" for k in range(12)]
    start_s = i * 5.0
    words = tuple(
        Word(w=w, start=round(start_s + k * 0.35, 3), end=round(start_s + k * 0.35 + 0.3, 3))
        for k, w in enumerate(texts)
    )
    return Transcript(
        speaker="rep" if i % 2 else "customer",
        segment=i,
        text=" ".join(texts),
        final=True,
        start=words[0].start,
        end=words[-1].end,
        words=words,
    )


def _kept_bytes(keep) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = keep()
        gc.collect()
        size = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del kept
    return size


def test_an_hour_of_finals_takes_under_a_tenth_of_the_memory_of_the_messages():
    # An hour of a two-party call: 720 finals of 12 words, made afresh on each side.
    def as_messages() -> list[Transcript]:
        return [_final(i) for i in range(720)]

    def packed() -> Finals:
        finals = Finals()
        for i in range(720):
            finals.append(_final(i))
        finals.seal()  # the call ended
        return finals

    messages_b, packed_b = _kept_bytes(as_messages), _kept_bytes(packed)
    assert packed_b < messages_b / 10, (packed_b, messages_b)  # 1.7 MB -> 0.11 MB
