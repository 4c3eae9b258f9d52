"""LocalAgreement-2 commit policy and the repetition-loop guards (pure, fast)."""

from __future__ import annotations

import pytest

from server.core.commit import (
    SegmentCommitter,
    clean_hypothesis,
    collapse_loops,
    trim_restart,
    word_key,
)
from models.recognition import Word


def words(text: str, step_s: float = 0.3) -> list[Word]:
    return [Word(w, i * step_s, (i + 1) * step_s) for i, w in enumerate(text.split())]


def texts(items: tuple[Word, ...]) -> str:
    return " ".join(w.w for w in items)


def clean(text: str) -> str:
    return " ".join(clean_hypothesis(text.split(), word_key))


@pytest.mark.parametrize(
    ("hypothesis", "expected"),
    [
        ("we can we can we can do it", "we can do it"),
        ("yes yes yes yes yes yes", "yes"),
        ("the price the price the price the price", "the price"),
        ("a small budget this year a small budget this year", "a small budget this year"),
        ("no no no", "no no no"),  # real speech
        ("I think, I think we should", "I think, I think we should"),
        ("that that is fine", "that that is fine"),
        ("", ""),
    ],
)
def test_collapse_loops_table(hypothesis: str, expected: str) -> None:
    assert " ".join(collapse_loops(hypothesis.split(), word_key)) == expected


@pytest.mark.parametrize(
    ("hypothesis", "expected"),
    [
        ("We have a small, we have a small, we", "We have a small,"),
        ("What would need to... What would need t", "What would need to..."),
        ("Good morning, thanks for taking the time", "Good morning, thanks for taking the time"),
        ("we see what we see", "we see what we see"),  # a two-word replay is speech
    ],
)
def test_trim_restart_table(hypothesis: str, expected: str) -> None:
    assert " ".join(trim_restart(hypothesis.split(), word_key)) == expected


def test_clean_hypothesis_handles_restart_then_loop() -> None:
    assert clean("let us try let us try let us try this, let us tr") == "let us try this,"


def test_committer_commits_what_two_partials_agree_on() -> None:
    committer = SegmentCommitter()
    first = committer.on_partial(words("good morning thanks"))
    assert (
        first is not None
        and first.committed == ()
        and texts(first.tentative) == ("good morning thanks")
    )
    second = committer.on_partial(words("Good morning, thanks for taking"))
    assert second is not None
    assert texts(second.committed) == "Good morning, thanks"  # punctuation/case ignored
    assert texts(second.tentative) == "for taking"
    third = committer.on_partial(words("good morning thanks for talking the time"))
    assert third is not None
    assert texts(third.committed) == "Good morning, thanks for"
    assert texts(third.tentative) == "talking the time"


def test_committer_never_withdraws_committed_words() -> None:
    committer = SegmentCommitter()
    committer.on_partial(words("we have a small budget"))
    committer.on_partial(words("we have a small budget this"))
    view = committer.on_partial(words("we had a smaller budget this year"))
    assert view is not None
    # the tail is realigned after the last committed word the decoder still recognises,
    # and "this" is agreed by the last two hypotheses
    assert texts(view.committed) == "we have a small budget this"
    assert texts(view.tentative) == "year"


def test_committer_loop_does_not_commit_repetitions() -> None:
    committer = SegmentCommitter()
    committer.on_partial(words("we can we can we can we can"))
    view = committer.on_partial(words("we can we can we can we can we can"))
    assert view is not None and texts(view.words) == "we can"


def test_committer_final_replaces_everything_and_never_changes() -> None:
    committer = SegmentCommitter()
    committer.on_partial(words("what would need"))
    committer.on_partial(words("what would need to change"))
    final = committer.on_final(words("What would need to change for you?"))
    assert texts(final) == "What would need to change for you?"
    assert committer.is_final and committer.committed == final
    assert committer.on_partial(words("what would need to change for you to")) is None
    assert committer.on_final(words("something else")) == final


def test_committer_partial_view_text_joins_words() -> None:
    committer = SegmentCommitter()
    view = committer.on_partial(words("hello there"))
    assert view is not None and view.text == "hello there"


def test_word_rejects_inverted_times() -> None:
    with pytest.raises(ValueError, match="after its end"):
        Word("x", 1.0, 0.5)
