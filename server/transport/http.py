"""Read-only HTTP over the WebSocket port: pages, static assets, health, metrics, reports.

websockets parses GET alone, so nothing here changes state (protocol.md, Endpoints). Knows
no hub and no session: it gets a `Site` with what each route needs.
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from models import codec
from models.report import SessionReport, SharedReport

_STATIC_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_REPORT_PATH = re.compile(r"^/v1/sessions/([0-9a-f]{1,64})/report$")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Reports(Protocol):
    """Answers `GET /v1/sessions/{id}/report` (`server.access.ReportAccess`)."""

    def report(self, session_id: str, token: str) -> SessionReport | SharedReport | None:
        """The report `token` may read; None for no such session or a wrong token."""
        ...


def overlay_asset(name: str) -> bytes | None:
    """A file of the participant page (`client/overlay/`); None when there is none."""
    file = resources.files("client").joinpath("overlay", name)
    try:
        return file.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


@dataclass(frozen=True, slots=True)
class Site:
    """What the HTTP routes serve.

    Attributes:
        reports: The session reports, by id and token.
        metrics: The Prometheus exposition: body and content type.
        assets: A page file by plain name (checked here first); None when absent.
    """

    reports: Reports
    metrics: Callable[[], tuple[bytes, str]]
    assets: Callable[[str], bytes | None] = overlay_asset


def respond(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(_SECURITY_HEADERS)
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    return Response(status.value, status.phrase, headers, body)


def _text(status: HTTPStatus, text: str) -> Response:
    return respond(status, text.encode(), "text/plain; charset=utf-8")


def _asset(site: Site, name: str) -> bytes | None:
    return site.assets(name) if _STATIC_NAME.match(name) else None


def handle_http(site: Site, request: Request) -> Response | None:
    """Answers a plain GET; returns None to let a WebSocket handshake on /v1/live go on."""
    url = urlsplit(request.path)
    path = url.path
    if path == "/v1/live":
        return None
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return _text(HTTPStatus.NOT_FOUND, "WebSocket endpoint is /v1/live\n")
    if path == "/healthz":
        return _text(HTTPStatus.OK, "ok\n")
    if path == "/metrics":
        body, content_type = site.metrics()
        return respond(HTTPStatus.OK, body, content_type)
    if path in ("/", "/index.html"):
        page = _asset(site, "index.html")
        if page is None:
            return _text(HTTPStatus.NOT_FOUND, "participant page missing\n")
        return respond(HTTPStatus.OK, page, "text/html; charset=utf-8")
    if path in ("/trainer", "/trainer/", "/trainer.html"):
        page = _asset(site, "trainer.html")
        if page is None:
            return _text(HTTPStatus.NOT_FOUND, "trainer page missing\n")
        return respond(HTTPStatus.OK, page, "text/html; charset=utf-8")
    if path.startswith("/static/"):
        name = path.removeprefix("/static/")
        data = _asset(site, name)
        if data is None:
            return _text(HTTPStatus.NOT_FOUND, "not found\n")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return respond(HTTPStatus.OK, data, content_type)
    match = _REPORT_PATH.match(path)
    if match:
        return _report(site.reports, request, match.group(1), parse_qs(url.query))
    return _text(HTTPStatus.NOT_FOUND, "not found\n")


def _report(
    reports: Reports, request: Request, session_id: str, query: dict[str, list[str]]
) -> Response:
    token = ""
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    elif "token" in query:
        token = query["token"][0]
    report = reports.report(session_id, token)
    if report is None:
        # One answer for "no such session" and "wrong token": ids are not probed.
        return _text(HTTPStatus.NOT_FOUND, "no report for this session and token\n")
    wants_html = query.get("format", [""])[0] == "html" or "text/html" in request.headers.get(
        "Accept", ""
    )
    if wants_html:
        return respond(
            HTTPStatus.OK, render_report_html(report).encode(), "text/html; charset=utf-8"
        )
    return respond(HTTPStatus.OK, codec.encode(report), "application/json")


def _language_html(report: SessionReport) -> str:
    """The language part of the scorecard; empty without recognition."""
    lang = report.language_report
    if lang is None:
        return ""
    e = html.escape
    yes_no = {True: "yes", False: "not yet"}
    items = "".join(
        f"<li>{'✔' if c.done else '✘'} {e(c.label)}"
        + (
            f" <small>({c.at:.0f}s, {e(c.speaker or '')})</small>"
            if c.done and c.at is not None
            else ""
        )
        + "</li>"
        for c in lang.checklist
    )
    wpm = "—" if lang.wpm is None else f"{lang.wpm:.0f}"
    rate = "—" if lang.questions_per_10_min is None else f"{lang.questions_per_10_min:.1f}"
    return (
        "<h2>What was said</h2>"
        f"<p>Questions: {lang.questions.open} open, {lang.questions.closed} closed"
        f" ({rate} per 10 min; {lang.why_questions} “why”) · summaries {lang.summaries}"
        f" · follow-up questions {lang.follow_ups} · pace {wpm} wpm"
        f" · fillers {lang.fillers} ({lang.filler_share * 100:.1f}% of words)</p>"
        f"<p>Structure: opening {yes_no[lang.opening]} · summary at the close"
        f" {yes_no[lang.closing_summary]} · next step {yes_no[lang.next_step]}</p>"
        f"<ul>{items}</ul>"
    )


def render_report_html(report: SessionReport | SharedReport) -> str:
    """A plain, printable scorecard page."""
    if isinstance(report, SharedReport):
        return render_shared_report_html(report)
    e = html.escape
    rows = "".join(
        f"<tr><td>{n.at:.0f}s</td><td>{e(n.rule)}</td><td>{e(n.text)}</td></tr>"
        for n in report.nudges
    )
    ledger = _ledger_html(report)
    lines = _transcript_html(report)
    checks = "".join(
        f"<li>{c.at:.0f}s · {e(c.speaker)}'s microphone: {e(c.text)}</li>"
        for c in report.audio_checks
    )
    audio = (
        f"<h2>Microphones</h2><ul>{checks}</ul>"
        "<p><small>Talk time counts each party's own voice only: what a microphone heard of "
        "the other party or of people nearby was left out.</small></p>"
        if checks
        else ""
    )
    gap = "—" if report.mean_response_gap_s is None else f"{report.mean_response_gap_s:.2f} s"
    language = _language_html(report)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sparring report: {e(report.title or report.session)}</title>
<style>body{{font:15px/1.4 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}}</style>
</head><body><h1>{e(report.title or "Practice call")}</h1>
<p>Session {e(report.session)} · {report.duration_s:.0f} s analysed · status {e(report.status)}</p>
<h2>Talk time</h2><p>Rep {report.talk.rep * 100:.0f}% · customer {report.talk.customer * 100:.0f}%
· longest monologue {report.longest_monologue_s:.0f} s · interruptions {len(report.interruptions)}
· mean response gap {gap}</p>
{audio}
{language}
<h2>Nudges</h2><table><tr><th>at</th><th>rule</th><th>text</th></tr>{rows}</table>
<h2>Transcript</h2>{lines or "<p>None kept.</p>"}
<h2>Consent ledger</h2><table><tr><th>at</th><th>role</th><th>name</th><th>what</th><th>scopes</th><th>on behalf</th></tr>{ledger}</table>
</body></html>"""


_STYLE = (
    "<style>body{font:15px/1.4 system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
    "padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid "
    "#ddd;padding:.3rem;text-align:left}</style>"
)


def _transcript_html(report: SessionReport | SharedReport) -> str:
    e = html.escape
    return "".join(
        f"<p><b>{e(t.speaker)}</b> <small>{t.start:.1f}s</small> {e(t.text)}</p>"
        for t in report.transcript
    )


def _ledger_html(report: SessionReport | SharedReport) -> str:
    e = html.escape
    return "".join(
        f"<tr><td>{c.audio_time_s:.1f}s</td><td>{e(c.role.value)}</td><td>{e(c.name)}</td>"
        f"<td>{'granted' if c.granted else 'withdrew'}</td><td>{e(', '.join(c.scopes))}</td>"
        f"<td>{e(c.on_behalf_of or '')} {e('by ' + c.given_by if c.on_behalf_of else '')}</td></tr>"
        for c in report.consent
    )


def render_shared_report_html(report: SharedReport) -> str:
    """What a customer or observer may read: the call, its consent record, maybe the words."""
    e = html.escape
    lines = _transcript_html(report)
    transcript = f"<h2>Transcript</h2>{lines}" if lines else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sparring report: {e(report.title or report.session)}</title>{_STYLE}
</head><body><h1>{e(report.title or "Practice call")}</h1>
<p>Session {e(report.session)} · {report.duration_s:.0f} s analysed · status {e(report.status)}</p>
<p><em>{e(report.withheld)}</em></p>
{transcript}
<h2>Consent ledger</h2><table><tr><th>at</th><th>role</th><th>name</th><th>what</th><th>scopes</th><th>on behalf</th></tr>{_ledger_html(report)}</table>
</body></html>"""
