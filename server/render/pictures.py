"""Pictures of a call as inline SVG: the timeline, and talk share over time against a target.

Pure: a report in, a string out. Made to be read on paper in black and white: parties differ
by pattern, markers by shape, and every line has a label; colour is never the only cue. The
`viewBox` scales them to any width. Reused by the trainer's detail view.
"""

from __future__ import annotations

import html

from models.report import SessionReport
from server.core.scorecard import clock
from server.render.call import (
    PARTIES,
    anchors,
    cumulative_share,
    line_at,
    names_of,
    ordered_transcript,
    overlap_spans,
    party_name,
    speech_spans,
)
from server.render.words import labels, language_of

WIDTH = 1000
LEFT = 120  # room for the lane names
RIGHT = 24
# Ticks of the time axis: the first step that gives at most this many.
MAX_TICKS = 10
TICK_STEPS_S = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)

# Black-and-white fills: the rep hatched, the customer dotted (see _DEFS).
_FILL = {"rep": "url(#sp-hatch)", "customer": "url(#sp-dots)"}
_DEFS = (
    "<defs>"
    '<pattern id="sp-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#1f4e8c" stroke-width="3"/></pattern>'
    '<pattern id="sp-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<rect width="5" height="5" fill="#fff"/>'
    '<circle cx="2.5" cy="2.5" r="1.4" fill="#8c4a1f"/></pattern>'
    "</defs>"
)
_STYLE = (
    "<style>.sp text{font:13px system-ui,sans-serif;fill:#111}"
    ".sp .small{font-size:11px}.sp .axis{stroke:#111;stroke-width:1}"
    ".sp .grid{stroke:#bbb;stroke-width:1}</style>"
)


def _x(at_s: float, duration_s: float) -> float:
    return round(LEFT + (WIDTH - LEFT - RIGHT) * min(max(at_s, 0.0), duration_s) / duration_s, 1)


def _tick_step(duration_s: float) -> int:
    return next((s for s in TICK_STEPS_S if duration_s / s <= MAX_TICKS), TICK_STEPS_S[-1])


def _axis(duration_s: float, y: float) -> str:
    step = _tick_step(duration_s)
    parts = [f'<line class="axis" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>']
    at_s = 0
    while at_s <= duration_s + 0.01:
        x = _x(at_s, duration_s)
        parts.append(
            f'<line class="axis" x1="{x}" y1="{y}" x2="{x}" y2="{y + 5}"/>'
            f'<text class="small time-label" x="{x}" y="{y + 18}" text-anchor="middle">{clock(at_s)}</text>'
        )
        at_s += step
    return "".join(parts)


def _title(text: str) -> str:
    return f"<title>{html.escape(text)}</title>"


def _linked(body: str, anchor: str | None) -> str:
    return f'<a href="#{anchor}">{body}</a>' if anchor else body


def _svg(height: int, label: str, body: str) -> str:
    return (
        f'<svg class="sp" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{html.escape(label)}" preserveAspectRatio="xMinYMin meet">'
        f"{_title(label)}{_STYLE}{_DEFS}{body}</svg>"
    )


def timeline_svg(
    report: SessionReport, *, names: dict[str, str] | None = None, caption: bool = True
) -> str:
    """The call on one time axis, one lane per party.

    Lanes show who spoke when (from the final transcripts' times), with overlaps between
    them; markers show interruptions, the rep's questions (open ○ / closed ●), nudges (▲),
    whispers (◆, rule "manual") and checklist topics covered (✓). Markers link to the
    transcript line they belong to (`#t84.7-rep`, see `call.anchors`).

    Args:
        report: The full report of the call.
        names: Party names by role; default: from the consent ledger.
        caption: Say inside the picture when there is no transcript (off where the page
            puts it in a caption of its own).

    Returns:
        One `<svg>` element.
    """
    words = labels(report.language)
    language = language_of(report.language)
    names = names if names is not None else names_of(report)
    lines = ordered_transcript(report)
    ids = anchors(lines)
    spans = speech_spans(report)
    duration_s = max(
        [report.duration_s, 1.0, *(end for found in spans.values() for _, end in found)]
    )

    def anchor(at_s: float) -> str | None:
        index = line_at(lines, at_s)
        return None if index is None else ids[index]

    coach_top, lane_h, gap = 8, 40, 26
    lane_top = {"rep": coach_top + 34, "customer": coach_top + 34 + lane_h + gap}
    bottom = lane_top["customer"] + lane_h
    axis_y = bottom + 10
    legend_y = axis_y + 40
    caption_y = legend_y + 28
    say_why = caption and not lines
    height = caption_y + (22 if say_why else 4)
    right = WIDTH - RIGHT
    parts: list[str] = [
        f'<text class="small" x="{LEFT - 8}" y="{coach_top + 18}" text-anchor="end">'
        f"{html.escape(words['coach_row'])}</text>"
    ]
    for party in PARTIES:
        top = lane_top[party]
        name = party_name(party, names, language)
        parts.append(
            f'<g class="lane" data-party="{party}">{_title(name)}'
            f'<rect x="{LEFT}" y="{top}" width="{right - LEFT}" height="{lane_h}" '
            'fill="none" stroke="#888" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{top + lane_h / 2 + 5}" text-anchor="end">'
            f"{html.escape(name)}</text>"
        )
        for start, end in spans[party]:
            x0, x1 = _x(start, duration_s), _x(end, duration_s)
            parts.append(
                f'<rect class="speech" x="{x0}" y="{top + 4}" width="{max(x1 - x0, 0.5):.1f}" '
                f'height="{lane_h - 8}" fill="{_FILL[party]}" stroke="#111" stroke-width="0.6">'
                f"{_title(f'{name} {clock(start)}–{clock(end)}')}</rect>"
            )
        parts.append("</g>")
    band_y = lane_top["rep"] + lane_h + 3
    for start, end in overlap_spans(spans):
        x0, x1 = _x(start, duration_s), _x(end, duration_s)
        parts.append(
            f'<rect class="overlap" x="{x0}" y="{band_y}" width="{max(x1 - x0, 1.0):.1f}" '
            f'height="7" fill="#111">{_title(words["overlap"])}</rect>'
        )
    for i in report.interruptions:
        x = _x(i.at_s, duration_s)
        top, low, box = lane_top["rep"], bottom, band_y + 10
        parts.append(
            _linked(
                f'<g class="interruption">{_title(words["interruption"] + " " + clock(i.at_s))}'
                f'<line x1="{x}" y1="{top}" x2="{x}" y2="{low}" stroke="#b00" '
                'stroke-width="1.5" stroke-dasharray="4 3"/>'
                f'<rect x="{x - 6}" y="{box}" width="12" height="12" fill="#fff" '
                'stroke="#b00" stroke-width="1.5"/>'
                f'<path d="M{x - 4} {box + 2} L{x + 4} {box + 10} M{x + 4} {box + 2} '
                f'L{x - 4} {box + 10}" stroke="#b00" stroke-width="1.5"/></g>',
                anchor(i.at_s),
            )
        )
    for t, anchor_id in zip(lines, ids, strict=True):
        if t.question is None or t.speaker not in lane_top:
            continue
        x = _x(t.start, duration_s)
        y = lane_top[t.speaker] + 9
        fill = "#fff" if t.question == "open" else "#111"
        word = words["open_question"] if t.question == "open" else words["closed_question"]
        parts.append(
            _linked(
                f'<circle class="question {t.question}" cx="{x}" cy="{y}" r="5" '
                f'fill="{fill}" stroke="#111" stroke-width="1.5">'
                f"{_title(f'{word} {clock(t.start)}: {t.text}')}</circle>",
                anchor_id,
            )
        )
    for t, anchor_id in zip(lines, ids, strict=True):
        if not t.summary or t.speaker not in lane_top:
            continue
        x = _x(t.start, duration_s)
        y = lane_top[t.speaker] + lane_h - 12
        parts.append(
            _linked(
                f'<rect class="summary" x="{x - 5}" y="{y - 5}" width="10" height="10" '
                f'fill="#fff" stroke="#111" stroke-width="1.5" transform="rotate(45 {x} {y})">'
                f"{_title(words['summary'] + ' ' + clock(t.start) + ': ' + t.text)}</rect>",
                anchor_id,
            )
        )
    for n in report.nudges:
        x = _x(n.at, duration_s)
        y = coach_top + 12
        if n.rule == "manual":
            by = str(n.evidence.get("from", ""))
            what = words["whisper_from"].format(by) if by else words["whisper"]
            shape = (
                f'<path class="whisper" d="M{x} {y - 8} L{x + 7} {y} L{x} {y + 8} L{x - 7} {y} Z" '
                f'fill="#111" stroke="#111">{_title(f"{what} {clock(n.at)}: {n.text}")}</path>'
            )
        else:
            shape = (
                f'<path class="nudge" d="M{x} {y - 8} L{x + 7} {y + 6} L{x - 7} {y + 6} Z" '
                f'fill="#fff" stroke="#111" stroke-width="1.5">'
                + _title(f"{words['nudge']} {clock(n.at)}: {n.text}")
                + "</path>"
            )
        parts.append(_linked(shape, anchor(n.at)))
    checklist = report.language_report.checklist if report.language_report else ()
    for entry in checklist:
        if not entry.done or entry.at is None:
            continue
        party = entry.speaker or "rep"
        party = party if party in lane_top else "rep"
        x = _x(entry.at, duration_s)
        y = lane_top[party] + lane_h - 10
        check = f"M{x - 5} {y} L{x - 1} {y + 5} L{x + 6} {y - 6}"
        parts.append(
            _linked(
                f'<g class="tick">{_title(words["covered"] + " " + clock(entry.at) + ": " + entry.label)}'
                f'<path d="{check}" fill="none" stroke="#fff" stroke-width="5"/>'
                f'<path d="{check}" fill="none" stroke="#060" stroke-width="2.5"/></g>',
                anchor(entry.at),
            )
        )
    parts.append(_axis(duration_s, axis_y))
    parts.append(_legend(words, legend_y))
    if say_why:
        parts.append(
            f'<text class="small caption" x="{LEFT}" y="{caption_y + 8}">'
            f"{html.escape(words['timeline_no_transcript'])}</text>"
        )
    return _svg(height, words["timeline"], "".join(parts))


def _legend(words: dict[str, str], y: float) -> str:
    items = [
        (
            f'<rect x="0" y="-10" width="18" height="12" fill="{_FILL["rep"]}" stroke="#111"/>',
            words["rep"],
        ),
        (
            f'<rect x="0" y="-10" width="18" height="12" fill="{_FILL["customer"]}" stroke="#111"/>',
            words["customer"],
        ),
        ('<rect x="0" y="-8" width="18" height="8" fill="#111"/>', words["overlap"]),
        (
            '<rect x="3" y="-10" width="12" height="12" fill="#fff" stroke="#b00"/>'
            '<path d="M5 -8 L13 0 M13 -8 L5 0" stroke="#b00" stroke-width="1.5"/>',
            words["interruption"],
        ),
        (
            '<circle cx="9" cy="-4" r="5" fill="#fff" stroke="#111" stroke-width="1.5"/>',
            words["open_question"],
        ),
        ('<circle cx="9" cy="-4" r="5" fill="#111" stroke="#111"/>', words["closed_question"]),
        (
            '<rect x="4" y="-9" width="10" height="10" fill="#fff" stroke="#111" '
            'stroke-width="1.5" transform="rotate(45 9 -4)"/>',
            words["summary"],
        ),
        (
            '<path d="M9 -12 L16 2 L2 2 Z" fill="#fff" stroke="#111" stroke-width="1.5"/>',
            words["nudge"],
        ),
        ('<path d="M9 -12 L16 -4 L9 4 L2 -4 Z" fill="#111"/>', words["whisper"]),
        (
            '<path d="M3 -4 L7 1 L14 -10" fill="none" stroke="#060" stroke-width="2.5"/>',
            words["covered"],
        ),
    ]
    parts, x = [], 0.0
    for symbol, word in items:
        parts.append(
            f'<g transform="translate({LEFT + x:.0f} {y})">{symbol}'
            f'<text class="small" x="22" y="0">{html.escape(word)}</text></g>'
        )
        x += 30 + 6.5 * len(word)
    return f'<g class="legend">{"".join(parts)}</g>'


def talk_share_svg(
    report: SessionReport,
    target: float,
    *,
    names: dict[str, str] | None = None,
    caption: bool = True,
) -> str:
    """The rep's share of all speech so far, over the call, against the playbook's target.

    The line is computed from the final transcripts' times; the dot at the end is the share
    the analysis measured (the report's `talk.rep`, from the audio itself). Without a
    transcript only the dot and the target are drawn, and a caption says why.

    Args:
        report: The full report of the call.
        target: The most the rep should talk, 0..1 (the form's `rep_talk_share` max).
        names: Party names by role; default: from the consent ledger.
        caption: Say inside the picture when there is no transcript.

    Returns:
        One `<svg>` element.
    """
    words = labels(report.language)
    language = language_of(report.language)
    names = names if names is not None else names_of(report)
    spans = speech_spans(report)
    curve = cumulative_share(spans)
    duration_s = max([report.duration_s, 1.0, *(at_s for at_s, _ in curve)])
    top, plot_h = 16, 180
    axis_y = top + plot_h
    say_why = caption and not curve
    height = axis_y + 34 + (22 if say_why else 0)

    def y(share: float) -> float:
        return round(top + (1.0 - min(max(share, 0.0), 1.0)) * plot_h, 1)

    right = WIDTH - RIGHT
    parts = [
        f'<text class="small" x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 '
        f'{top + plot_h / 2})" text-anchor="middle">'
        f"{html.escape(words['share'])} ({html.escape(party_name('rep', names, language))})</text>"
    ]
    for pct in (0, 25, 50, 75, 100):
        gy = y(pct / 100)
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{gy}" x2="{right}" y2="{gy}"/>'
            f'<text class="small" x="{LEFT - 6}" y="{gy + 4}" text-anchor="end">{pct}%</text>'
        )
    target_y = y(target)
    target_text = words["target"].format(f"{round(target * 100)}%")
    parts.append(
        f'<g class="target"><line x1="{LEFT}" y1="{target_y}" x2="{right}" y2="{target_y}" '
        'stroke="#111" stroke-width="1.5" stroke-dasharray="8 5"/>'
        f'<text class="small" x="{LEFT + 6}" y="{target_y - 5}">'
        f"{html.escape(target_text)}</text></g>"
    )
    if curve:
        points = " ".join(f"{_x(at_s, duration_s)},{y(share)}" for at_s, share in curve)
        parts.append(
            f'<polyline class="share" points="{points}" fill="none" stroke="#1f4e8c" '
            'stroke-width="2.5" stroke-linejoin="round"/>'
        )
    if report.rep_speech_s + report.customer_speech_s > 0:
        end_x, end_y = _x(duration_s, duration_s), y(report.talk.rep)
        shown = words["at_end"].format(f"{round(report.talk.rep * 100)}%")
        label_y = end_y + 16 if end_y < target_y else end_y - 9
        parts.append(
            f'<g class="measured"><circle cx="{end_x}" cy="{end_y}" r="5" fill="#111"/>'
            f'<text class="small" x="{end_x - 8}" y="{label_y}" text-anchor="end">'
            f"{html.escape(shown)}</text></g>"
        )
    parts.append(_axis(duration_s, axis_y))
    if say_why:
        parts.append(
            f'<text class="small caption" x="{LEFT}" y="{axis_y + 44}">'
            f"{html.escape(words['talk_no_transcript'])}</text>"
        )
    return _svg(height, words["talk_over_time"], "".join(parts))
