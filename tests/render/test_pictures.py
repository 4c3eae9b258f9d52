"""The SVG pictures (timeline, talk share over time) on real reports of the bundled calls."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import msgspec
import pytest

from server.render import names_of, report_page, talk_share_svg, timeline_svg
from server.render.call import cumulative_share, speech_spans
from tests.render.calls import call_report, call_scorecard

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox", "").startswith("0 0 ")
    return root


def of_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


@pytest.mark.parametrize("name", ["good", "pushy", "nl_pushy"])
def test_timeline_has_a_lane_per_party_and_a_marker_for_each_moment(name: str) -> None:
    report = call_report(name)
    root = parse(timeline_svg(report))
    lanes = of_class(root, "lane")
    assert [lane.get("data-party") for lane in lanes] == ["rep", "customer"]
    assert [lane.find(f"{SVG}text").text for lane in lanes] == ["Anna", "Bob"]
    assert len(of_class(root, "interruption")) == len(report.interruptions)
    assert len(of_class(root, "nudge")) == len([n for n in report.nudges if n.rule != "manual"])
    assert len(of_class(root, "whisper")) == len([n for n in report.nudges if n.rule == "manual"]) == 1
    finals = [t for t in report.transcript if t.final]
    for kind in ("open", "closed"):
        questions = [el for el in of_class(root, "question") if kind in el.get("class").split()]
        assert len(questions) == len([t for t in finals if t.question == kind])
    assert report.language_report is not None
    done = [c for c in report.language_report.checklist if c.done and c.at is not None]
    assert len(of_class(root, "tick")) == len(done) > 0
    spans = speech_spans(report)
    assert len(of_class(root, "speech")) == sum(len(s) for s in spans.values()) > 0


def test_timeline_shows_overlaps_and_interruptions_of_the_pushy_call() -> None:
    report = call_report("pushy")
    root = parse(timeline_svg(report))
    assert report.interruptions and of_class(root, "overlap")
    titles = [el.find(f"{SVG}title").text for el in of_class(root, "interruption")]
    assert titles == [f"interruption 0:{round(i.at_s):02d}" for i in report.interruptions]


def test_timeline_markers_link_to_the_pages_transcript_lines() -> None:
    report = call_report("pushy")
    page = report_page(report, call_scorecard("pushy"), names=names_of(report))
    start = page.index("<svg")
    svg = page[start : page.index("</svg>", start) + 6]
    ids = set(re.findall(r'<p class="line [a-z]+" id="([^"]+)"', page))
    links = re.findall(r'<a href="#([^"]+)">', svg)
    assert len(links) >= len(report.nudges) + len(report.interruptions)
    assert set(links) <= ids


def test_timeline_without_a_transcript_says_the_lanes_show_only_moments() -> None:
    report = msgspec.structs.replace(call_report("pushy"), transcript=(), language_report=None)
    root = parse(timeline_svg(report))
    assert len(of_class(root, "lane")) == 2 and not of_class(root, "speech")
    assert len(of_class(root, "interruption")) == len(report.interruptions)
    caption = of_class(root, "caption")[0].text
    assert "No transcript" in caption and "only the moments" in caption
    assert of_class(parse(timeline_svg(call_report("pushy"))), "caption") == []


def test_timeline_time_axis_reads_m_ss_and_labels_are_dutch_for_a_dutch_call() -> None:
    root = parse(timeline_svg(call_report("nl_good")))
    ticks = [el.text for el in of_class(root, "time-label")]
    assert ticks[0] == "0:00" and all(re.fullmatch(r"\d+:\d\d", t) for t in ticks)
    assert root.find(f"{SVG}title").text == "Tijdlijn: wie sprak wanneer"
    legend = " ".join(el.text or "" for el in of_class(root, "legend")[0].iter(f"{SVG}text"))
    assert "open vraag" in legend and "fluistering" in legend and "onderbreking" in legend


def test_pictures_escape_names() -> None:
    names = {"rep": "<b>Anna</b> & co", "customer": '"Bob"'}
    report = call_report("good")
    for svg in (timeline_svg(report, names=names), talk_share_svg(report, 0.6, names=names)):
        root = parse(svg)
        assert "<b>" not in svg
        texts = [el.text for el in root.iter(f"{SVG}text")]
        assert any(t and "<b>Anna</b> & co" in t for t in texts)


@pytest.mark.parametrize("name", ["good", "pushy"])
def test_talk_share_line_follows_the_call_and_ends_near_the_measured_share(name: str) -> None:
    report = call_report(name)
    root = parse(talk_share_svg(report, 0.6))
    line = of_class(root, "share")[0]
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and len(points) > 10
    curve = cumulative_share(speech_spans(report))
    assert curve[-1][1] == pytest.approx(report.talk.rep, abs=0.08)
    measured = of_class(root, "measured")[0]
    assert f"{round(report.talk.rep * 100)}% at the end" in measured.find(f"{SVG}text").text


def test_talk_share_target_is_a_dashed_line_with_its_label() -> None:
    root = parse(talk_share_svg(call_report("pushy"), 0.6))
    target = of_class(root, "target")[0]
    line = target.find(f"{SVG}line")
    assert line.get("stroke-dasharray") and line.get("y1") == line.get("y2")
    assert target.find(f"{SVG}text").text == "target: at most 60%"
    lower = of_class(parse(talk_share_svg(call_report("pushy"), 0.4)), "target")[0]
    assert float(lower.find(f"{SVG}line").get("y1")) > float(line.get("y1"))  # lower share, lower on the page


def test_talk_share_without_a_transcript_shows_the_end_share_and_says_why() -> None:
    report = msgspec.structs.replace(call_report("good"), transcript=())
    root = parse(talk_share_svg(report, 0.6))
    assert not of_class(root, "share") and of_class(root, "measured") and of_class(root, "target")
    assert "No transcript" in of_class(root, "caption")[0].text


def test_timeline_marks_the_reps_summaries() -> None:
    report = call_report("good")
    summaries = [t for t in report.transcript if t.summary]
    assert summaries, "the good call's rep summarises what the customer said"
    root = ET.fromstring(timeline_svg(report))
    marks = [e for e in root.iter() if e.get("class") == "summary"]
    assert len(marks) == len(summaries)
