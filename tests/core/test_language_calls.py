"""The language rules end to end in the core, on the bundled calls, with reference text.

Real audio and the real VAD cut the utterances; the scripted text of each utterance stands
in for the recogniser (a fake, so this is a core test). It shows what the rules do when the
words are right, in English and in Dutch, independent of the model's accuracy (see
tests/e2e/test_language_e2e.py for the same with the real model).
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from client.stream import read_audio
from models.playbook import default_playbook
from models.recognition import Word
from models.wire import Consent, Nudge, Role, Transcript
from server.core.session import AsrRequest, Session
from tests.core.harness import recognize

SCOPES = ("coaching", "transcript", "trainer_view")
TALK_RULES = {"talk_ratio", "monologue", "interruption"}
LANGUAGE_RULES = {"open_question", "summarize", "pace"}


def _reference_words(truth: dict, request: AsrRequest) -> list[Word]:
    """Scripted words of the utterances this request's audio covers, evenly timed."""
    end_s = request.start_s + len(request.pcm) / 32000
    words: list[Word] = []
    for u in truth["utterances"]:
        if u["speaker"] != request.speaker or u["end"] <= request.start_s or u["start"] >= end_s:
            continue
        if u["start"] < request.start_s - 0.5:
            continue  # belongs to an earlier cut of the same speech
        tokens = u["text"].split()
        step = (u["end"] - u["start"]) / len(tokens)
        for i, token in enumerate(tokens):
            start = u["start"] + i * step - request.start_s
            words.append(Word(token, max(0.0, start), max(0.0, start) + step * 0.9))
    return words


def run_call(
    name: str, final_delay_s: float = 0.0
) -> tuple[Session, list[Nudge], list[Transcript]]:
    """Streams a bundled call through the core with its reference text as recognition.

    Args:
        final_delay_s: Audio seconds between the end of an utterance and its final text
            (recognition takes time; 0 delivers finals at once).
    """
    calls = resources.files("client").joinpath("calls")
    truth = json.loads(calls.joinpath(f"{name}.json").read_text("utf-8"))
    with (
        resources.as_file(calls / f"{name}.rep.flac") as r,
        resources.as_file(calls / f"{name}.customer.flac") as c,
    ):
        rep_audio, customer_audio = read_audio(r), read_audio(c)
    session = Session("call", language=truth["language"], playbook=default_playbook(), asr=True)
    rep, _ = session.join(Role.REP, "Anna", rep_audio.format())
    customer, _ = session.join(Role.CUSTOMER, "Bob", customer_audio.format())
    session.consent(rep, Consent(granted=True, scopes=SCOPES), 0.0)
    session.consent(customer, Consent(granted=True, scopes=SCOPES), 0.0)
    sent = []
    due: list[tuple[float, AsrRequest]] = []

    def handle(outputs) -> None:
        sent.extend(m for pid, m in outputs.sends if pid == rep)
        for request in outputs.asr_jobs:
            if request.final:
                due.append((session.at_s + final_delay_s, request))
        deliver(session.at_s)

    def deliver(until_s: float) -> None:
        while due and due[0][0] <= until_s:
            _, request = due.pop(0)
            words = _reference_words(truth, request)
            handle(
                recognize(session, request.speaker, request.segment, True, words, request.start_s)
            )

    for a, b in zip(rep_audio.frames(0.1), customer_audio.frames(0.1), strict=True):
        handle(session.feed_audio(rep, a))
        handle(session.feed_audio(customer, b))
    deliver(float("inf"))
    handle(session.end(rep, 0.0))
    deliver(float("inf"))
    nudges = [m for m in sent if isinstance(m, Nudge)]
    finals = [m for m in sent if isinstance(m, Transcript) and m.final]
    return session, nudges, finals


@pytest.mark.parametrize("name", ["good", "nl_good"])
def test_language_good_call_gets_no_wrong_nudge(name: str) -> None:
    session, nudges, finals = run_call(name)
    assert finals, "the reference text reached the session"
    wrong = [n.rule for n in nudges if n.rule in TALK_RULES | LANGUAGE_RULES]
    assert wrong == []
    report = session.report().language_report
    assert report is not None
    assert report.questions.open >= 4 and report.questions.closed <= 1
    assert report.summaries >= 1


@pytest.mark.parametrize("name", ["pushy", "nl_pushy"])
def test_language_pushy_call_marks_closed_questions(name: str) -> None:
    session, nudges, finals = run_call(name)
    report = session.report().language_report
    assert report is not None
    assert report.questions.closed >= 5 and report.questions.open == 0
    assert {f.question for f in finals if f.speaker == "rep"} >= {"closed"}


@pytest.mark.parametrize("name", ["closed", "nl_closed"])
def test_language_closed_fast_call_gets_open_question_summarize_and_pace(name: str) -> None:
    session, nudges, finals = run_call(name)
    rules = [n.rule for n in nudges]
    assert LANGUAGE_RULES <= set(rules), rules
    assert not TALK_RULES & set(rules)
    pace = next(n for n in nudges if n.rule == "pace")
    assert int(pace.evidence["wpm"]) > 175 and str(pace.evidence["wpm"]) in pace.text
    report = session.report().language_report
    assert report is not None and report.summaries == 0 and report.questions.open == 0


def test_language_report_scorecard_shows_what_was_said() -> None:
    from server.render import names_of, report_page

    session, _, _ = run_call("good")
    page = report_page(session.report(), None, names=names_of(session.report()))
    assert "What was said" in page and "open" in page
    assert "✔ Budget" in page or "✔ Next step" in page


@pytest.mark.parametrize("name", ["good", "nl_good"])
@pytest.mark.parametrize("delay_s", [1.0, 3.0])
def test_language_rules_wait_for_the_reps_words_in_recognition(name: str, delay_s: float) -> None:
    # "So if I understand you correctly..." is still being recognised when a minute of
    # customer speech has passed: summarize must wait for those words, not nudge over them.
    session, nudges, finals = run_call(name, final_delay_s=delay_s)
    assert finals
    wrong = [n.rule for n in nudges if n.rule in TALK_RULES | LANGUAGE_RULES]
    assert wrong == []


@pytest.mark.parametrize("name", ["pushy", "nl_pushy"])
def test_language_pushy_monologue_is_heard_during_it(name: str) -> None:
    # The pushy rep talks over a minute without a break after talk_ratio and pace fired:
    # "pause and ask a question" must still come during the monologue or just after it.
    session, nudges, _ = run_call(name, final_delay_s=1.0)
    monologue = [n for n in nudges if n.rule == "monologue"]
    assert monologue, [n.rule for n in nudges]
    nudge = monologue[0]
    start_s = float(nudge.evidence["start_s"])
    assert nudge.at <= start_s + session.report().longest_monologue_s + 5.0
    assert [n.rule for n in nudges].index("monologue") > 0  # another rule had fired before
