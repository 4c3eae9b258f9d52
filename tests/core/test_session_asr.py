"""Recognition requests and results in the session core, with scripted speech (no model)."""

from __future__ import annotations

from models.recognition import Word
from models.wire import Consent, Role, Transcript
from tests.core.harness import make_session, recognize


def words(*texts: str) -> list[Word]:
    return [Word(t, i * 0.4, i * 0.4 + 0.3) for i, t in enumerate(texts)]


def test_asr_nothing_is_requested_before_consent() -> None:
    h = make_session(asr=True, live=False)
    h.play([(5, True, True)])
    assert h.asr_jobs() == []


def test_asr_partials_about_every_second_and_one_final_per_utterance() -> None:
    h = make_session(asr=True)
    h.play([(4.5, True, False), (1, False, False)])
    jobs = h.asr_jobs()
    partials = [j for j in jobs if not j.final]
    finals = [j for j in jobs if j.final]
    assert 3 <= len(partials) <= 5
    assert len(finals) == 1 and finals[0].speaker == "rep"
    assert {j.segment for j in jobs} == {finals[0].segment}
    # The final holds the whole utterance plus pre- and post-roll, nothing more.
    assert 4.5 <= len(finals[0].pcm) / 32000 <= 5.0


def test_asr_no_recognition_without_the_transcript_scope() -> None:
    h = make_session(asr=True, scopes=("coaching",))
    h.play([(3, True, True), (1, False, False)])
    assert h.asr_jobs() == []
    assert h.session.turns.rep_frames > 0  # audio coaching still runs


def test_asr_partials_off_under_overload_but_finals_still_come() -> None:
    h = make_session(asr=True)
    h.session.set_partial_interval(None)
    h.play([(4, True, False), (1, False, False)])
    assert [j.final for j in h.asr_jobs()] == [True]


def test_asr_long_speech_is_cut_below_whisper_window() -> None:
    h = make_session(asr=True)
    h.play([(40, True, False), (1, False, False)])
    finals = [j for j in h.asr_jobs() if j.final]
    assert len(finals) >= 2
    assert all(len(j.pcm) / 32000 <= 25.5 for j in finals)


def test_asr_final_is_sent_once_and_never_changes() -> None:
    h = make_session(asr=True)
    h.play([(2, True, False), (1, False, False)])
    final = next(j for j in h.asr_jobs() if j.final)
    out = recognize(
        h.session, "rep", final.segment, True, words("what", "do", "you", "need"), final.start_s
    )
    sent = [m for _, m in out.sends if isinstance(m, Transcript)]
    assert sent and sent[0].final and sent[0].text == "what do you need"
    again = recognize(
        h.session, "rep", final.segment, True, words("something", "else"), final.start_s
    )
    assert again.sends == []
    late_partial = recognize(h.session, "rep", final.segment, False, words("x"), final.start_s)
    assert late_partial.sends == []
    assert [t.text for t in h.session.coach.transcript] == ["what do you need"]


def test_asr_partials_replace_each_other_with_a_stable_prefix() -> None:
    h = make_session(asr=True)
    h.play([(3, True, False)])
    segment = h.asr_jobs()[0].segment
    first = recognize(h.session, "rep", segment, False, words("how", "do"), 0.0)
    second = recognize(h.session, "rep", segment, False, words("how", "do", "you"), 0.0)
    texts = [m.text for o in (first, second) for _, m in o.sends if isinstance(m, Transcript)]
    assert texts[-1].startswith("how do")


def test_asr_results_after_withdrawal_are_dropped() -> None:
    h = make_session(asr=True)
    h.play([(3, True, False)])
    segment = h.asr_jobs()[0].segment
    out = h.session.consent(h.customer, Consent(granted=False), 0.0)
    assert out.cancel_asr
    late = recognize(h.session, "rep", segment, True, words("too", "late"), 0.0)
    assert late.sends == [] and list(h.session.coach.transcript) == []


def test_asr_customer_sees_transcripts_only_with_the_transcript_scope() -> None:
    h = make_session(asr=True)
    h.session.consent(h.customer, Consent(granted=True, scopes=("coaching",)), 0.0)
    h.play([(2, True, False), (1, False, False)])
    final = next(j for j in h.asr_jobs() if j.final)
    out = recognize(h.session, "rep", final.segment, True, words("hello"), final.start_s)
    assert {pid for pid, _ in out.sends} == {h.rep}


def test_asr_words_are_placed_in_session_audio_time() -> None:
    h = make_session(asr=True)
    h.play([(5, False, False), (2, True, False), (1, False, False)])
    final = next(j for j in h.asr_jobs() if j.final)
    assert 4.7 < final.start_s < 5.0
    out = recognize(h.session, "rep", final.segment, True, words("hi"), final.start_s)
    (message,) = {m for _, m in out.sends}
    assert message.words[0].start == round(final.start_s, 3)


def test_asr_auto_language_is_detected_once_from_speech_then_forced() -> None:
    h = make_session(asr=True)
    h.session.language = "auto"
    h.play([(2, True, False), (1, False, False)])
    first = next(j for j in h.asr_jobs() if j.final)
    assert first.language is None  # detect: nothing known yet, and never from silence
    recognize(
        h.session, "rep", first.segment, True, words("goedemorgen"), first.start_s, "nl", 0.93
    )
    before = len(h.asr_jobs())
    h.play([(2, True, False), (1, False, False)])
    later = [j for j in h.asr_jobs()[before:]]
    assert later and all(j.language == "nl" for j in later)


def test_asr_auto_language_ignores_an_unsure_detection() -> None:
    h = make_session(asr=True)
    h.session.language = "auto"
    h.play([(2, True, False), (1, False, False)])
    first = next(j for j in h.asr_jobs() if j.final)
    recognize(h.session, "rep", first.segment, True, words("hm"), first.start_s, "nl", 0.3)
    assert h.session.detected_language is None


def _say(h, text: str, seconds: float = 3.0) -> None:
    """The rep speaks for `seconds`; its final transcript says `text`."""
    before = len(h.asr_jobs())
    h.play([(seconds, True, False), (0.5, False, False)])
    final = next(j for j in h.asr_jobs()[before:] if j.final)
    tokens = text.split()
    step = seconds / len(tokens)
    ws = [Word(t, i * step, i * step + step * 0.8) for i, t in enumerate(tokens)]
    h.outputs.append(recognize(h.session, "rep", final.segment, True, ws, final.start_s))


def test_fillers_cluster_over_the_share_is_nudged_once() -> None:
    h = make_session(asr=True)
    h.play([(46, False, True), (1, False, False)])  # past the warm-up: the customer talked
    _say(h, "so um we have uh a product that you know works", 3.0)
    _say(h, "and um it is like really uh good for teams", 3.0)
    fillers = [n for n in h.nudges() if n.rule == "fillers"]
    assert len(fillers) == 1 and fillers[0].evidence["count"] >= 3
    assert fillers[0].evidence["share_pct"] > 4


def test_fillers_single_ones_are_noise() -> None:
    h = make_session(asr=True)
    h.play([(46, False, True), (1, False, False)])
    _say(h, "so um we have a product that works well for sales teams like yours today", 4.0)
    _say(h, "it connects your calendar and your email and it saves hours every week", 4.0)
    assert not [n for n in h.nudges() if n.rule == "fillers"]


def test_why_question_is_marked_with_the_rephrasing_tip() -> None:
    h = make_session(asr=True)
    _say(h, "why did you choose your current supplier", 3.0)
    (final,) = [
        m
        for o in h.outputs
        for _, m in o.sends
        if isinstance(m, Transcript) and m.final and m.speaker == "rep"
    ][:1]
    assert final.question == "open" and final.tip and "What led to" in final.tip


def test_topics_checklist_ticks_live_and_open_items_are_nudged_at_the_close() -> None:
    from models.wire import Checklist

    h = make_session(asr=True)
    h.play([(46, False, True), (1, False, False)])
    _say(h, "what budget have you set aside for this", 3.0)
    checklists = [
        m for o in h.outputs for pid, m in o.sends if isinstance(m, Checklist) and pid == h.rep
    ]
    assert [i.id for i in checklists[-1].items if i.done] == ["budget"]
    assert not [n for n in h.nudges() if n.rule == "topics"]
    h.play([(25, False, True), (1, False, False)])
    _say(h, "so if I understand you correctly the budget is fine", 3.0)
    h.play([(21, False, False)])
    _say(h, "the next step is that I send you a proposal", 3.0)
    h.play([(25, False, True)])  # rules speak on the next audio seconds
    topics = [n for n in h.nudges() if n.rule == "topics"]
    assert topics and topics[0].evidence["item_id"] == "decision_maker"
    assert topics[0].text == "Not discussed yet: Decision maker"


def test_asr_narrowing_the_transcript_scope_stops_recognition_at_once() -> None:
    # The customer drops `transcript` without withdrawing: the call stays live, their queued
    # recognition is cancelled, a final already on its way is dropped, held audio is gone.
    h = make_session(asr=True)
    h.play([(2, False, True), (1, False, False)])
    queued = next(j for j in h.asr_jobs() if j.final and j.speaker == "customer")
    h.play([(1.5, False, True)])  # the customer is mid-utterance: audio is held
    out = h.session.consent(h.customer, Consent(granted=True, scopes=("coaching",)), 5.0)
    assert h.session.is_live and out.cancel_speakers == [Role.CUSTOMER] and not out.cancel_asr
    late = recognize(h.session, "customer", queued.segment, True, words("my", "budget"), 0.0)
    assert late.sends == [] and list(h.session.coach.transcript) == []
    mark = len(h.outputs)
    h.play([(2, False, True), (1, False, False)])
    assert not [j for o in h.outputs[mark:] for j in o.asr_jobs]  # not transcribed any more
    # Granted again: only audio from now on is recognised, stamped with its own time.
    regrant_s = h.session.at_s
    h.session.consent(h.customer, Consent(granted=True, scopes=("coaching", "transcript")), 9.0)
    mark = len(h.outputs)
    h.play([(1, False, False), (2, False, True), (1, False, False)])
    (final,) = [j for o in h.outputs[mark:] for j in o.asr_jobs if j.final]
    assert final.start_s >= regrant_s and len(final.pcm) / 32000 <= 2.6


def test_asr_customer_transcripts_carry_no_coaching_marks() -> None:
    h = make_session(asr=True)
    h.play([(2, True, False), (1, False, False)])
    final = next(j for j in h.asr_jobs() if j.final)
    out = recognize(
        h.session, "rep", final.segment, True, words("Why", "did", "you", "choose", "it?"), 0.0
    )
    sent = {pid: m for pid, m in out.sends if isinstance(m, Transcript)}
    assert sent[h.rep].question == "open" and sent[h.rep].tip
    assert sent[h.customer].question is None and sent[h.customer].tip is None
    assert sent[h.customer].text == sent[h.rep].text


def _ended_while_speaking():
    """A call whose rep pressed End mid-sentence: the flushed final is still being recognised."""
    h = make_session(asr=True)
    h.play([(2, True, False)])  # no silence after: the utterance is open
    end = h.session.end(h.rep, 0.0)
    (last,) = [j for j in end.asr_jobs if j.final]
    return h, end, last


def test_asr_an_ended_call_waits_for_its_last_final_before_report_and_close() -> None:
    from models.wire import Report, State

    h, end, last = _ended_while_speaking()
    assert h.session.is_ended and h.session.is_ending
    assert end.closes == [] and not [m for _, m in end.sends if isinstance(m, Report)]
    ws = words("so", "what", "do", "you", "think")
    out = recognize(h.session, "rep", last.segment, True, ws, last.start_s)
    kinds = [type(m).__name__ for pid, m in out.sends if pid == h.rep]
    # The last words reach both parties first, then the report and the final state.
    assert kinds.index("Transcript") < kinds.index("Report") < kinds.index("State")
    assert [m.text for p, m in out.sends if p == h.customer and isinstance(m, Transcript)] == [
        "so what do you think"
    ]
    assert sorted(out.closes) == sorted([h.rep, h.customer])
    assert not h.session.is_ending
    report = [m for _, m in out.sends if isinstance(m, Report)]
    state = [m for _, m in out.sends if isinstance(m, State)]
    assert report and state[-1].status == "ended"


def test_asr_audio_sent_while_an_ended_call_waits_for_its_last_final_is_not_counted() -> None:
    h, _, _ = _ended_while_speaking()
    before = h.session.dropped_before_consent_s
    h.play([(1, True, True)])  # the customer's microphone is still on
    assert h.session.dropped_before_consent_s == before
    assert h.session.report().dropped_before_consent_s == before


def test_asr_conclude_closes_an_ending_call_and_a_later_final_still_reaches_the_report() -> None:
    from models.wire import Report

    h, _, last = _ended_while_speaking()
    out = h.session.conclude()  # the adapter's bound ran out
    assert [p for p, m in out.sends if isinstance(m, Report)] and out.closes
    assert h.session.conclude().sends == []  # once
    late = recognize(h.session, "rep", last.segment, True, words("too", "late"), last.start_s)
    assert late.sends == [] and late.closes == []  # its connections are closed
    assert [t.text for t in h.session.report().transcript] == ["too late"]


def test_asr_an_ended_call_with_nothing_in_flight_closes_at_once() -> None:
    from models.wire import Report

    h = make_session(asr=True)
    h.play([(2, True, False), (1.5, False, False)])
    (final,) = [j for j in h.asr_jobs() if j.final]
    recognize(h.session, "rep", final.segment, True, words("hello"), final.start_s)
    end = h.session.end(h.rep, 0.0)
    assert not h.session.is_ending
    assert [m for _, m in end.sends if isinstance(m, Report)] and end.closes
