"""Real reports for the render tests: the bundled calls run through the core (real audio,
scripted words; see tests/core/test_language_calls.py), with a whisper, a reflection and a
trainer's ticks added the way the session and the scorecard builder record them."""

from __future__ import annotations

import functools

import msgspec

from models.playbook import default_playbook
from models.report import SessionReport
from models.scorecard import Evaluation, Scorecard
from models.wire import Nudge, Severity
from server.core.scorecard import build_scorecard
from tests.core.test_language_calls import run_call

FORM = default_playbook().form
WHISPER = Nudge(
    id="w1",
    rule="manual",
    text="Ask what <that> costs them",
    severity=Severity.INFO,
    at=50.0,
    evidence={"from": "Tom", "by": "trainer"},
    session="call",
)
EVALUATIONS = (
    Evaluation(by="Anna", role="rep", ticks={"talk_share": "good"}, notes={"talk_share": "I let Bob talk"}),
    Evaluation(
        by="Tom",
        role="trainer",
        ticks={"talk_share": "needs_work", "listens": "good"},
        notes={"talk_share": "Too much <b>pitch</b>"},
    ),
)


@functools.cache
def call_report(name: str) -> SessionReport:
    """The full report of a bundled call, with a trainer's whisper at 0:50."""
    session, _, _ = run_call(name)
    report = session.report()
    return msgspec.structs.replace(report, nudges=(*report.nudges, WHISPER))


@functools.cache
def call_scorecard(name: str) -> Scorecard:
    return build_scorecard(call_report(name), FORM, EVALUATIONS, rep="Anna", customer="Bob")
