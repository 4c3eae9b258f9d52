"""The printable report page: one self-contained HTML document per call.

Pure: report, scorecard and names in, a string out; no I/O, no assets to fetch. Everything a
user typed (titles, names, notes, transcript) is escaped. Labels follow the call's language.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

from models.form import Metric, Section
from models.report import SessionReport, SharedReport
from models.scorecard import CriterionCard, Scorecard, Verdict, View
from models.wire import Transcript
from server.core.scorecard import clock
from server.render.call import anchors, line_at, ordered_transcript, party_name
from server.render.pictures import talk_share_svg, timeline_svg
from server.render.words import (
    VERDICT_ICONS,
    VERDICT_WORDS,
    labels,
    language_of,
    no_recognition,
    status_word,
)

# The default form's talk-share target (won deals average 43:57, Gong): used where the
# caller does not pass the playbook's own.
DEFAULT_TALK_TARGET = 0.6

e = html.escape

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;color:#111;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #111}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
.meta{color:#333}.notice{border:2px solid #111;padding:.5rem .8rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}table.criteria{table-layout:fixed}td,th{border-bottom:1px solid #bbb;padding:.35rem;text-align:left;vertical-align:top}
th{font-size:.85rem;text-transform:uppercase;letter-spacing:.03em}
.verdict{white-space:nowrap;font-weight:600;padding:0 .3rem;border:1px solid currentColor;border-radius:3px}
.verdict.good{color:#0a5c1a}.verdict.needs_work{color:#a30000}.verdict.not_measured{color:#555;font-weight:400}
.evidence,.note{font-size:.9rem;color:#333}.moments{font-size:.85rem}
.moments a,.time{font-variant-numeric:tabular-nums}
.view{margin-bottom:.3rem}
.line{margin:.2rem 0;padding:.1rem .3rem}.line:target{outline:2px solid #111;background:#ffd}
.line .time{display:inline-block;min-width:3rem;color:#333;text-decoration:none}
.tag{font-size:.8rem;border:1px solid #555;border-radius:3px;padding:0 .25rem;margin-left:.3rem}
figure{margin:1rem 0}figure svg{width:100%;height:auto;display:block}figcaption{font-size:.85rem;color:#333}
@media print{
 body{max-width:none;margin:0;font-size:11pt}
 a{color:inherit;text-decoration:none}
 h2{break-after:avoid}tr,figure,.line{break-inside:avoid}
 .verdict{color:#000!important}
 .line:target{outline:none;background:none}
}
"""


_COLUMNS = (
    '<colgroup><col style="width:34%"><col style="width:14%"><col style="width:18%">'
    '<col style="width:16%"><col style="width:18%"></colgroup>'
)


def talk_target_of(form: Sequence[Section]) -> float | None:
    """The most the rep should talk by the form (its `rep_talk_share` max); None if unnamed."""
    for section in form:
        for criterion in section.criteria:
            if criterion.metric is Metric.REP_TALK_SHARE and criterion.max is not None:
                return criterion.max
    return None


def report_page(
    report: SessionReport | SharedReport,
    scorecard: Scorecard | None,
    *,
    names: dict[str, str],
    talk_target: float = DEFAULT_TALK_TARGET,
) -> str:
    """The call's report as one printable HTML page.

    A full report shows the scorecard (or, without one, the call's figures), the timeline
    and talk-share pictures, nudges and whispers, the transcript in time order (each line an
    anchor that the scorecard's moments link to), microphone notes and the consent ledger.
    A shared report shows the call, its transcript where allowed and the ledger, and says
    what is withheld and why.

    Args:
        report: The report as the reader may see it.
        scorecard: The call's scorecard; None where there is none (yet).
        names: Party names by role ("rep", "customer"); roles stand in for missing ones.
        talk_target: The playbook's talk-share target, 0..1, for the talk-share picture.

    Returns:
        A whole HTML document.
    """
    language = language_of(report.language)
    words = labels(language)
    if scorecard is not None:
        names = {"rep": scorecard.rep, "customer": scorecard.customer, **names}
    lines = ordered_transcript(report)
    ids = anchors(lines)
    body = [_header(report, names, language)]
    if report.erased:
        body.append(f'<p class="notice">{e(words["erased"])}</p>')
    if isinstance(report, SessionReport) and report.recognition == "unavailable":
        note = no_recognition(report.language, report.recognition_install, language)
        body.append(f'<p class="notice">{e(note)}</p>')
    if isinstance(report, SharedReport):
        body.append(
            f'<p class="notice withheld"><b>{e(words["withheld"])}:</b> {e(report.withheld)}</p>'
        )
    else:
        if scorecard is not None:
            body.append(_scorecard_html(scorecard, lines, ids, language))
        else:
            body.append(f'<p class="notice">{e(words["no_scorecard"])}</p>')
            body.append(_figures_html(report, names, language))
        body.append(_pictures_html(report, names, talk_target, language))
        body.append(_nudges_html(report, lines, ids, language))
    body.append(
        _transcript_html(lines, ids, names, language, shared=isinstance(report, SharedReport))
    )
    if isinstance(report, SessionReport):
        body.append(_audio_html(report, names, language))
    body.append(_ledger_html(report, names, language))
    title = f"{words['report']}: {report.title or words['practice_call']}"
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(part for part in body if part)
        + "</body></html>"
    )


def _header(report: SessionReport | SharedReport, names: dict[str, str], language: str) -> str:
    words = labels(language)
    rep, customer = party_name("rep", names, language), party_name("customer", names, language)
    facts = [
        f"{e(rep)} ({e(words['rep'])}) {e(words['with'])} {e(customer)} ({e(words['customer'])})"
    ]
    date = _date(report)
    if date:
        facts.append(f"{e(words['date'])} {date}")
    facts.append(f"{e(words['duration'])} {clock(report.duration_s)}")
    facts.append(f"{e(words['status'])} {e(status_word(report.status, language))}")
    facts.append(f"{e(words['session'])} {e(report.session)}")
    return (
        f"<header><h1>{e(report.title or words['practice_call'])}</h1>"
        f'<p class="meta">{" · ".join(facts)}</p></header>'
    )


def _date(report: SessionReport | SharedReport) -> str:
    """The day of the call (UTC) from the consent ledger's wall times; empty if unknown."""
    times = [c.wall_time for c in report.consent if c.wall_time > 0]
    return time.strftime("%Y-%m-%d", time.gmtime(min(times))) if times else ""


def _verdict(verdict: Verdict, language: str) -> str:
    word = VERDICT_WORDS[language][verdict]
    return f'<span class="verdict {verdict}">{VERDICT_ICONS[verdict]} {e(word)}</span>'


def _views(views: Sequence[View], language: str) -> str:
    if not views:
        return "—"
    return "".join(
        f'<div class="view">{_verdict(v.verdict, language)} <b>{e(v.by)}</b>'
        + (f'<div class="note">{e(v.note)}</div>' if v.note else "")
        + "</div>"
        for v in views
    )


def _moment_links(
    card: CriterionCard, lines: Sequence[Transcript], ids: Sequence[str], language: str
) -> str:
    if not card.moments:
        return ""
    links = []
    for m in card.moments:
        index = line_at(lines, m.at_s)
        hint = f' title="{e(m.what)}"' if m.what else ""
        links.append(
            f'<span class="moment"{hint}>{e(m.time)}</span>'
            if index is None
            else f'<a class="moment" href="#{ids[index]}"{hint}>{e(m.time)}</a>'
        )
    return f'<div class="moments">{e(labels(language)["moments"])}: {", ".join(links)}</div>'


def _tells_more(card: CriterionCard) -> bool:
    """The evidence says more than the value beside its target ("62% (at most 60%)")."""
    return bool(card.evidence) and not (
        card.value_text and card.evidence.startswith(card.value_text)
    )


def _value_target(card: CriterionCard) -> str:
    shown = " · ".join(x for x in (card.value_text, card.target_text) if x)
    return e(shown) if shown else "—"


def _scorecard_html(
    scorecard: Scorecard, lines: Sequence[Transcript], ids: Sequence[str], language: str
) -> str:
    words = labels(language)
    status = words[f"reflection_{scorecard.reflection}"]
    parts = [
        f'<section class="scorecard"><h2>{e(words["scorecard"])}</h2>'
        f'<p class="meta">{e(words["reflection"])}: <b class="reflection '
        f'{scorecard.reflection}">{e(status)}</b>'
    ]
    if scorecard.evaluators:
        parts.append(f" · {e(words['evaluated_by'])}: {e(', '.join(scorecard.evaluators))}")
    parts.append("</p>")
    head = (
        f"<tr><th>{e(words['criterion'])}</th><th>{e(words['measured'])}</th>"
        f"<th>{e(words['value_target'])}</th><th>{e(words['own_view'])}</th>"
        f"<th>{e(words['peers'])}</th></tr>"
    )
    for section in scorecard.sections:
        rows = []
        for card in section.criteria:
            evidence = (
                f'<div class="evidence">{e(card.evidence)}</div>' if _tells_more(card) else ""
            )
            own = _views([card.self_view] if card.self_view else [], language)
            rows.append(
                f'<tr class="criterion" id="c-{e(card.id)}"><td><b>{e(card.label)}</b>'
                f"{evidence}{_moment_links(card, lines, ids, language)}</td>"
                f"<td>{_verdict(card.verdict, language)}</td>"
                f'<td class="value">{_value_target(card)}</td>'
                f"<td>{own}</td><td>{_views(card.peer_views, language)}</td></tr>"
            )
        parts.append(
            f'<h3>{e(section.title)}</h3><table class="criteria">{_COLUMNS}<thead>{head}</thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    parts.append("</section>")
    return "".join(parts)


def _figures_html(report: SessionReport, names: dict[str, str], language: str) -> str:
    """The call's figures, where no scorecard is given."""
    words = labels(language)
    rep, customer = party_name("rep", names, language), party_name("customer", names, language)
    gap = "—" if report.mean_response_gap_s is None else f"{report.mean_response_gap_s:.1f} s"
    parts = [
        f'<section class="figures"><h2>{e(words["figures"])}</h2>'
        f"<p>{e(words['talk_share'])}: {e(rep)} {report.talk.rep * 100:.0f}% · {e(customer)} "
        f"{report.talk.customer * 100:.0f}% · {e(words['longest_monologue'])} "
        f"{clock(report.longest_monologue_s)} · {e(words['interruptions'])} "
        f"{len(report.interruptions)} · {e(words['overlaps'])} {report.overlaps} · "
        f"{e(words['mean_response_gap'])} {gap}</p>"
    ]
    lang = report.language_report
    if lang is not None:
        yes_no = {True: words["yes"], False: words["no"]}
        wpm = "—" if lang.wpm is None else f"{lang.wpm:.0f} wpm"
        rate = "—" if lang.questions_per_10_min is None else f"{lang.questions_per_10_min:.1f}"
        items = "".join(
            f"<li>{'✔' if c.done else '✘'} {e(c.label)}"
            + (
                f" <small>({clock(c.at)}, {e(party_name(c.speaker or 'rep', names, language))})</small>"
                if c.done and c.at is not None
                else ""
            )
            + "</li>"
            for c in lang.checklist
        )
        parts.append(
            f"<h3>{e(words['what_was_said'])}</h3>"
            f"<p>{e(words['questions'])}: {lang.questions.open} {e(words['open'])}, "
            f"{lang.questions.closed} {e(words['closed'])} ({rate} {e(words['per_10_min'])}; "
            f"{lang.why_questions} {e(words['why'])}) · {e(words['summaries'])} {lang.summaries}"
            f" · {e(words['follow_ups'])} {lang.follow_ups} · {e(words['pace'])} {wpm}"
            f" · {e(words['fillers'])} {lang.fillers} ({lang.filler_share * 100:.1f}% "
            f"{e(words['of_words'])})</p>"
            f"<p>{e(words['structure'])}: {e(words['opening'])} {yes_no[lang.opening]} · "
            f"{e(words['closing_summary'])} {yes_no[lang.closing_summary]} · "
            f"{e(words['next_step'])} {yes_no[lang.next_step]}</p>"
            f"<ul>{items}</ul>"
        )
    parts.append("</section>")
    return "".join(parts)


def _pictures_html(
    report: SessionReport, names: dict[str, str], talk_target: float, language: str
) -> str:
    words = labels(language)
    has_text = any(t.final for t in report.transcript)
    timeline_caption = words["timeline_caption"] if has_text else words["timeline_no_transcript"]
    talk_caption = words["talk_caption"] if has_text else words["talk_no_transcript"]
    return (
        f'<section class="pictures"><h2>{e(words["pictures"])}</h2>'
        f'<figure class="timeline">{timeline_svg(report, names=names, caption=False)}'
        f"<figcaption>{e(words['timeline'])}. {e(timeline_caption)}</figcaption></figure>"
        f'<figure class="talk-share">{talk_share_svg(report, talk_target, names=names, caption=False)}'
        f"<figcaption>{e(words['talk_over_time'])}. {e(talk_caption)}</figcaption></figure>"
        "</section>"
    )


def _time_link(at_s: float, lines: Sequence[Transcript], ids: Sequence[str]) -> str:
    index = line_at(lines, at_s)
    if index is None:
        return f'<span class="time">{clock(at_s)}</span>'
    return f'<a class="time" href="#{ids[index]}">{clock(at_s)}</a>'


def _nudges_html(
    report: SessionReport, lines: Sequence[Transcript], ids: Sequence[str], language: str
) -> str:
    words = labels(language)
    if not report.nudges:
        return f"<h2>{e(words['nudges'])}</h2><p>{e(words['no_nudges'])}</p>"
    rows = []
    for n in sorted(report.nudges, key=lambda n: n.at):
        if n.rule == "manual":
            by = str(n.evidence.get("from", ""))
            kind = f"◆ {words['whisper_from'].format(by) if by else words['whisper']}"
        else:
            kind = f"▲ {words['nudge']}"
        rows.append(
            f'<tr class="{"whisper" if n.rule == "manual" else "nudge"}">'
            f"<td>{_time_link(n.at, lines, ids)}</td><td>{e(kind)}</td><td>{e(n.text)}</td></tr>"
        )
    return (
        f"<h2>{e(words['nudges'])}</h2><table><thead><tr><th>{e(words['at'])}</th>"
        f"<th>{e(words['kind'])}</th><th>{e(words['text'])}</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _transcript_html(
    lines: Sequence[Transcript],
    ids: Sequence[str],
    names: dict[str, str],
    language: str,
    *,
    shared: bool,
) -> str:
    words = labels(language)
    if not lines:
        return (
            "" if shared else f"<h2>{e(words['transcript'])}</h2><p>{e(words['no_transcript'])}</p>"
        )
    out = []
    for t, anchor in zip(lines, ids, strict=True):
        tags = ""
        if t.question is not None:
            word = words["open_question"] if t.question == "open" else words["closed_question"]
            tags += f'<span class="tag question {t.question}">{e(word)}</span>'
        if t.tip:
            tags += f'<span class="tag tip">{e(words["tip"])}: {e(t.tip)}</span>'
        out.append(
            f'<p class="line {t.speaker}" id="{anchor}" data-start="{t.start:.2f}">'
            f'<a class="time" href="#{anchor}">{clock(t.start)}</a> '
            f"<b>{e(party_name(t.speaker, names, language))}</b> {e(t.text)}{tags}</p>"
        )
    return f'<section class="transcript"><h2>{e(words["transcript"])}</h2>{"".join(out)}</section>'


def _audio_html(report: SessionReport, names: dict[str, str], language: str) -> str:
    words = labels(language)
    if not report.audio_checks:
        return ""
    items = "".join(
        f"<li>{clock(c.at)} · "
        f"{e(words['microphone_of'].format(party_name(c.speaker, names, language)))}: "
        f"{e(c.text)}</li>"
        for c in report.audio_checks
    )
    return (
        f"<h2>{e(words['microphones'])}</h2><ul>{items}</ul>"
        f"<p><small>{e(words['microphones_note'])}</small></p>"
    )


def _ledger_html(report: SessionReport | SharedReport, names: dict[str, str], language: str) -> str:
    words = labels(language)
    rows = []
    for c in report.consent:
        what = words["granted"] if c.granted else words["erase_asked" if c.erase else "withdrew"]
        behalf = ""
        if c.on_behalf_of:
            behalf = f"{party_name(c.on_behalf_of, names, language)}, {words['by']} {c.given_by}"
        rows.append(
            f"<tr><td>{clock(c.audio_time_s)}</td><td>{e(c.name)}</td>"
            f"<td>{e(words.get(c.role.value, c.role.value))}</td><td>{e(what)}</td>"
            f"<td>{e(', '.join(c.scopes))}</td><td>{e(behalf)}</td></tr>"
        )
    head = "".join(
        f"<th>{e(words[k])}</th>" for k in ("at", "name", "role", "what", "scopes", "on_behalf")
    )
    return (
        f'<section class="ledger"><h2>{e(words["consent_ledger"])}</h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )
