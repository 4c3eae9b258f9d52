"""Open/closed question classifier: table-driven cases and accuracy on labelled sets."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.questions import (
    Language,
    QuestionAnalysis,
    QuestionKind,
    analyse_question,
    classify_question,
    parse_language,
    tokenize,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
OPEN, CLOSED, NONE = QuestionKind.OPEN, QuestionKind.CLOSED, QuestionKind.NONE
# Target from the issue; see tests/data/QUESTIONS.md for how the rows were labelled.
MIN_ACCURACY = 0.90
MIN_WHY_ACCURACY = 0.95

CASES = [
    # English W-questions, imperatives, indirect and framed invitations.
    ("en", "What does your process look like?", OPEN),
    ("en", "what does your process look like", OPEN),
    ("en", "How many users are we talking about?", OPEN),
    ("en", "which features matter most", OPEN),
    ("en", "Tell me about your team.", OPEN),
    ("en", "walk me through the setup", OPEN),
    ("en", "Describe a typical week.", OPEN),
    ("en", "I'm curious how you handle returns.", OPEN),
    ("en", "i wonder what your team thinks", OPEN),
    ("en", "Can you tell me how the approval works?", OPEN),
    ("en", "do you know what the renewal date is", OPEN),
    ("en", "In what way?", OPEN),
    # English closed: verb-first, tag, declarative, choice, proposal.
    ("en", "do you have a budget", CLOSED),
    ("en", "Would Tuesday work for you?", CLOSED),
    ("en", "Can you tell me whether the budget is approved?", CLOSED),
    ("en", "That's the main issue, right?", CLOSED),
    ("en", "it's about fifty users isn't it", CLOSED),
    ("en", "You said the contract ends in March?", CLOSED),
    ("en", "So March is the deadline?", CLOSED),
    ("en", "Monday or Wednesday?", CLOSED),
    ("en", "Which do you prefer, the basic or the premium package?", CLOSED),
    ("en", "How about Thursday at ten?", CLOSED),
    ("en", "Why don't we set up a pilot?", CLOSED),
    ("en", "Shall I walk you through the setup?", CLOSED),
    # English statements that look like questions.
    ("en", "we have a great product", NONE),
    ("en", "What we do is help teams automate invoicing.", NONE),
    ("en", "How nice to hear that!", NONE),
    ("en", "when we started we only had three customers", NONE),
    ("en", "Let me tell you how it works.", NONE),
    ("en", "Tell you what, I'll throw in the training.", NONE),
    ("en", "Have a great weekend.", NONE),
    ("en", "will do", NONE),
    ("en", "hi how are you doing today", NONE),
    ("en", "mm hmm", NONE),
    ("en", "", NONE),
    # Dutch open.
    ("nl", "Hoe ziet uw proces eruit?", OPEN),
    ("nl", "wat bedoelt u daarmee", OPEN),
    ("nl", "hoeveel gebruikers zijn het ongeveer", OPEN),
    ("nl", "Waarmee werkt u op dit moment?", OPEN),
    ("nl", "vertel eens over uw team", OPEN),
    ("nl", "Leg eens uit hoe de goedkeuring werkt.", OPEN),
    ("nl", "ik ben benieuwd hoe u dat oplost", OPEN),
    ("nl", "Kunt u vertellen hoe het proces loopt?", OPEN),
    ("nl", "mag ik vragen wat u nu betaalt", OPEN),
    ("nl", "en toen", OPEN),
    # Dutch closed.
    ("nl", "heeft u een budget", CLOSED),
    ("nl", "Gebruikt u Exact voor de boekhouding?", CLOSED),
    ("nl", "brandt het lampje groen", CLOSED),
    ("nl", "klopt dat", CLOSED),
    ("nl", "Dat is het grootste probleem, toch?", CLOSED),
    ("nl", "de demo was op donderdag of niet", CLOSED),
    ("nl", "Dus u zegt dat budget niet het probleem is?", CLOSED),
    ("nl", "Weet u of er een opzegtermijn is?", CLOSED),
    ("nl", "maandag of dinsdag", CLOSED),
    ("nl", "Wat dacht u van donderdag?", CLOSED),
    ("nl", "Wilt u dat ik de opties beschrijf?", CLOSED),
    # Dutch statements.
    ("nl", "wij hebben een goed product", NONE),
    ("nl", "Wat fijn!", NONE),
    ("nl", "hoe dan ook we plannen het in", NONE),
    ("nl", "Wat wij doen is teams helpen.", NONE),
    ("nl", "toen we begonnen hadden we drie klanten", NONE),
    ("nl", "Wanneer u zich aanmeldt, krijgt u een vaste accountmanager.", NONE),
    ("nl", "kan ik regelen", NONE),
    ("nl", "doen we", NONE),
    ("nl", "komt goed", NONE),
    ("nl", "Dank u wel.", NONE),
]


@pytest.mark.parametrize(("language", "text", "expected"), CASES)
def test_classify_question_cases(language: str, text: str, expected: QuestionKind) -> None:
    assert classify_question(text, language) is expected


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "um so what made you reach out"),
        ("en", "okay so tell me about your team"),
        ("en", "And, uh, how is that working out?"),
        ("nl", "oké dus eh wat was de aanleiding"),
        ("nl", "nou vertel eens over uw team"),
        ("nl", "En, eh, hoe bevalt dat?"),
    ],
)
def test_classify_question_skips_leading_fillers(language: str, text: str) -> None:
    assert classify_question(text, language) is OPEN


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "We help logistics firms. What does your fleet look like?", OPEN),
        ("en", "Do you use spreadsheets? How do you keep them up to date?", OPEN),
        ("en", "do you use spreadsheets how do you keep them up to date", OPEN),
        ("en", "we could start with a pilot would that work for you", CLOSED),
        ("en", "That's interesting. Thanks for explaining.", NONE),
        ("nl", "Werkt u met spreadsheets? Hoe houdt u die actueel?", OPEN),
        ("nl", "we kunnen met een pilot beginnen zou dat voor u werken", CLOSED),
    ],
)
def test_classify_question_several_sentences_prefers_open(
    language: str, text: str, expected: QuestionKind
) -> None:
    assert classify_question(text, language) is expected


@pytest.mark.parametrize(
    ("language", "text", "is_why"),
    [
        ("en", "Why did you choose them?", True),
        ("en", "i'm curious why you switched", True),
        ("en", "How come the project stalled?", False),
        ("en", "What led to that decision?", False),
        ("en", "Why don't we set up a pilot?", False),
        ("nl", "Waarom heeft u voor hen gekozen?", True),
        ("nl", "Hoe komt het dat de levering vertraagd is?", False),
        ("nl", "leg eens uit waarom dat een blokkade is", True),
    ],
)
def test_analyse_question_why_flag(language: str, text: str, is_why: bool) -> None:
    assert analyse_question(text, language).is_why is is_why


def test_analyse_question_reports_cue_and_clause() -> None:
    analysis = analyse_question("Okay. So, what does your process look like?", "en")
    assert analysis == QuestionAnalysis(OPEN, False, "what", "what does your process look like")
    assert analyse_question("We have a great product.", "en") == QuestionAnalysis(
        NONE, False, "", ""
    )


def test_analyse_question_tag_cue() -> None:
    assert analyse_question("That's the main issue, right?", "en").cue == ", right"


def test_parse_language_accepts_codes_and_regions() -> None:
    assert parse_language("EN") is Language.EN
    assert parse_language("nl-BE") is Language.NL
    assert parse_language(Language.NL) is Language.NL


def test_classify_question_rejects_unknown_language() -> None:
    with pytest.raises(ValueError, match="language must be one of 'en', 'nl', got 'de'"):
        classify_question("Wie geht's?", "de")


@given(st.text(max_size=200), st.sampled_from(["en", "nl"]))
def test_analyse_question_total_on_any_text(text: str, language: str) -> None:
    analysis = analyse_question(text, language)
    assert isinstance(analysis.kind, QuestionKind)
    assert (analysis.kind is NONE) == (analysis.cue == "")
    assert not analysis.is_why or analysis.kind is OPEN


def _load(language: str) -> list[tuple[str, QuestionKind, bool]]:
    path = DATA_DIR / f"questions_{language}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r["text"], QuestionKind(r["label"]), r["why"] == "1") for r in reader]


@pytest.mark.parametrize("language", ["en", "nl"])
def test_labelled_set_shape(language: str) -> None:
    rows = _load(language)
    assert len(rows) >= 300
    transcription_style = [t for t, _, _ in rows if t == " ".join(tokenize(t))]
    assert len(transcription_style) * 3 >= len(rows)
    assert {kind for _, kind, _ in rows} == {OPEN, CLOSED, NONE}


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("stripped", [False, True], ids=["as_written", "stripped"])
def test_accuracy_on_labelled_set(language: str, stripped: bool) -> None:
    rows = _load(language)
    correct = 0
    why_correct = 0
    for text, kind, is_why in rows:
        shown = " ".join(tokenize(text)) if stripped else text
        analysis = analyse_question(shown, language)
        correct += analysis.kind is kind
        why_correct += analysis.is_why is is_why
    assert correct / len(rows) >= MIN_ACCURACY
    assert why_correct / len(rows) >= MIN_WHY_ACCURACY
