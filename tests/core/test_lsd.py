"""LSD: summary openers and follow-up questions that reuse the customer's words."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from server.core.lsd import (
    FollowUp,
    content_words,
    follow_up_overlap,
    is_summary,
    normalise_word,
)
from server.core.questions import QuestionKind

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "So if I understand you correctly, speed is the main issue.", True),
        ("en", "what i'm hearing is that the team is overloaded", True),
        ("en", "Okay, so to sum up: you need better reporting.", True),
        ("en", "Let me recap what we discussed.", True),
        ("en", "so you're saying the budget is fixed", True),
        ("en", "Can you summarize the project for me?", False),
        ("en", "I'm hearing a lot of noise on the line.", False),
        ("en", "We make invoicing simple. In short, it saves time.", False),
        ("nl", "Als ik u goed begrijp, is snelheid het probleem.", True),
        ("nl", "dus wat u zegt is dat het budget vaststaat", True),
        ("nl", "Samengevat: u wilt vóór juni live.", True),
        ("nl", "eh even samenvatten drie vestigingen", True),
        ("nl", "als ik het goed hoor gaat het om de kosten", True),
        ("nl", "Wat zegt u?", False),
        ("nl", "Ik stuur u de samenvatting per mail.", False),
    ],
)
def test_is_summary_cases(language: str, text: str, expected: bool) -> None:
    assert is_summary(text, language) is expected


def test_is_summary_labelled_set() -> None:
    path = DATA_DIR / "summaries.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert len(rows) >= 60
    assert {r["language"] for r in rows} == {"en", "nl"}
    wrong = [
        r["text"] for r in rows if is_summary(r["text"], r["language"]) != (r["is_summary"] == "1")
    ]
    assert len(wrong) / len(rows) <= 0.05, wrong


@pytest.mark.parametrize(
    ("language", "word", "stem"),
    [
        ("en", "Budgets,", "budget"),
        ("en", "companies", "company"),
        ("en", "boxes", "box"),
        ("en", "process", "process"),
        ("en", "customer's", "customer"),
        ("nl", "klanten", "klant"),
        ("nl", "leveringen", "levering"),
        ("nl", "bakken", "bak"),
        ("nl", "computers", "computer"),
        ("nl", "auto's", "auto"),
        ("nl", "?!", ""),
    ],
)
def test_normalise_word(language: str, word: str, stem: str) -> None:
    assert normalise_word(word, language) == stem


def test_content_words_drop_stopwords_and_repeats() -> None:
    assert content_words("We need the invoices, the INVOICES!", "en") == ["invoice"]
    assert content_words("Dus eigenlijk gaat het om de levering", "nl") == ["levering"]


def test_follow_up_picks_up_customer_words() -> None:
    result = follow_up_overlap(
        "What makes the invoices so slow?", ["Our invoice run is always slow."], "en"
    )
    assert result == FollowUp(True, ("invoice", "slow"), QuestionKind.OPEN)


def test_follow_up_dutch_plural_matches_singular() -> None:
    result = follow_up_overlap(
        "hoe vaak gaan die leveringen mis", ["De levering gaat steeds mis."], "nl"
    )
    assert result.is_follow_up
    assert result.shared_words == ("levering", "mis")


def test_follow_up_needs_a_question() -> None:
    result = follow_up_overlap("Our invoices module is great.", ["Invoices are slow."], "en")
    assert not result.is_follow_up
    assert result.shared_words == ("invoice",)
    assert result.question_kind is QuestionKind.NONE


def test_follow_up_needs_shared_content_words() -> None:
    result = follow_up_overlap("What do you think about it?", ["I think it is fine."], "en")
    assert result == FollowUp(False, (), QuestionKind.OPEN)


def test_follow_up_without_customer_speech() -> None:
    assert not follow_up_overlap("Heeft u een budget?", [], "nl").is_follow_up


def test_lsd_rejects_unknown_language() -> None:
    with pytest.raises(ValueError, match="got 'fr'"):
        is_summary("Donc, si je comprends bien", "fr")
