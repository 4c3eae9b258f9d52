"""Filler word detection in English and Dutch."""

from __future__ import annotations

import pytest

from server.core.fillers import EN_FILLERS, NL_FILLERS, count_fillers, find_fillers


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Um, so, uh, we have three packages.", ["um", "uh"]),
        (
            "en",
            "It's, you know, kind of expensive, I mean, for a pilot.",
            ["you know", "kind of", "i mean"],
        ),
        ("en", "So like, the team was like really busy.", ["like", "like"]),
        ("en", "erm it's sort of a pilot", ["erm", "sort of"]),
        ("nl", "Eh, nou, we hebben zeg maar drie pakketten.", ["eh", "nou", "zeg maar"]),
        ("nl", "Het is eigenlijk, weet je, best duur. Dus ja.", ["eigenlijk", "weet je", "dus ja"]),
        ("nl", "ehm uhm dat klopt", ["ehm", "uhm"]),
    ],
)
def test_find_fillers(language: str, text: str, expected: list[str]) -> None:
    assert find_fillers(text, language) == expected


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "I like the dashboard."),
        ("en", "We would like a demo."),
        ("en", "It looks like a good fit, something like that."),
        ("en", "What kind of volume is it? A sort of CRM?"),
        ("en", "Do you know what the renewal date is?"),
        ("en", "What I mean is the price."),
        ("nl", "Weet je wat het kost?"),
        ("nl", "Weet je of het budget rond is?"),
        ("nl", "We leveren dus morgen."),
    ],
)
def test_find_fillers_ignores_non_filler_uses(language: str, text: str) -> None:
    assert find_fillers(text, language) == []


def test_count_fillers_on_asr_words_ignores_case_and_punctuation() -> None:
    assert count_fillers(["Um,", "you", "know,", "the", "PRICE", "uh..."], "en") == 3
    assert count_fillers(["Eh", "zeg", "maar", "drie"], "nl") == 2
    assert count_fillers([], "nl") == 0


def test_filler_lists_are_exported() -> None:
    assert "you know" in EN_FILLERS
    assert "zeg maar" in NL_FILLERS


def test_fillers_reject_unknown_language() -> None:
    with pytest.raises(ValueError, match="got 'de'"):
        find_fillers("äh", "de")
