"""Read-only HTTP over the WebSocket port: pages, static assets, health, metrics, reports.

Answers GET alone (older websockets parse nothing else), so nothing here changes state
(protocol.md, Endpoints): a report link is signed, not stored. Knows no hub and no session:
it gets a `Site` with what each route needs.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import msgspec
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from models import codec
from models.report import SessionReport, SharedReport
from server.render import DEFAULT_TALK_TARGET, names_of, report_page, talk_share_svg, timeline_svg

_STATIC_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# A session id, after its node's name and a dot when the server has one (`n1.4f2a…`).
_SESSION_ID = r"((?:[a-z0-9-]{1,32}\.)?[0-9a-f]{1,64})"
_REPORT_PATH = re.compile(rf"^/v1/sessions/{_SESSION_ID}/report$")
_REPORT_LINK_PATH = re.compile(rf"^/v1/sessions/{_SESSION_ID}/report-link$")
_EXPORT_PATH = re.compile(rf"^/v1/sessions/{_SESSION_ID}/export$")
_PICTURE_PATH = re.compile(rf"^/v1/sessions/{_SESSION_ID}/(timeline|talk)\.svg$")
_REP_HISTORY = re.compile(r"^/v1/reps/([A-Za-z0-9_-]{1,64})/history$")
_GROUP_HISTORY = re.compile(r"^/v1/groups/([A-Za-z0-9_-]{1,64})/history$")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
# The pages load their scripts and styles from /static only: no inline script, no inline
# style (the overlay sets sizes through the CSSOM, which CSP allows); never framed.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' {ws}; media-src 'self' blob:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Headers read as one value. A request that repeats one is refused rather than guessed at:
# websockets' `headers.get` raises on a repeated name (a 500 with a traceback before), and
# two Hosts or two Authorizations are how requests are smuggled past a proxy.
SINGLE_VALUED = (
    "Host",
    "Authorization",
    "Origin",
    "Upgrade",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
)
# The report is one self-contained file (a participant saves it): inline CSS, no script.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Everything else (JSON, text, SVG pictures with their own <style>, assets).
OTHER_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


class Reports(Protocol):
    """Answers `GET /v1/sessions/{id}/report` and `…/report-link` (`server.access.ReportAccess`)."""

    async def report(self, session_id: str, token: str) -> SessionReport | SharedReport | None:
        """The report `token` may read; None for no such session or a wrong token."""
        ...

    async def link(self, session_id: str, token: str) -> str | None:
        """A short-lived link to the report `token` may read; None where `report` is None."""
        ...

    async def report_by_link(
        self, session_id: str, link: str
    ) -> SessionReport | SharedReport | None:
        """The report a link opens; None for an expired, altered or foreign one."""
        ...

    @property
    def link_lifetime_s(self) -> int:
        """How long a link opens the report."""
        ...


class People(Protocol):
    """Answers the history and export endpoints (`server.history.History`); None: 404."""

    async def rep_history(self, token: str, rep_id: str | None = None) -> bytes | None: ...

    async def group_history(self, token: str, group_id: str) -> bytes | None: ...

    async def export_call(self, session_id: str, token: str) -> bytes | None: ...

    async def export_rep(self, token: str) -> bytes | None: ...


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
        languages: The languages calls may be created in, with their recognition status
            (``languages.Recognizers.languages``); None: recognition is off.
        default_language: A call's language when `create` names none.
    """

    reports: Reports
    metrics: Callable[[], tuple[bytes, str]]
    assets: Callable[[str], bytes | None] = overlay_asset
    people: People | None = None
    metrics_key: str | None = None  # GET /metrics needs `Authorization: Bearer` this
    metrics_here: bool = True  # False: /metrics is served on another address only
    languages: Callable[[], list[dict[str, str | bool]]] | None = None
    default_language: str = "en"


def _languages(site: Site) -> Response:
    """Which languages this server transcribes, for the create form (docs/protocol.md)."""
    if site.languages is not None:
        listed = site.languages()
    else:  # started without recognition: calls still get talk time, never transcripts
        listed = [
            {"code": code, "recognition": "off", "loaded": False} for code in ("en", "nl", "auto")
        ]
    body = {"default": site.default_language, "languages": listed}
    return respond(HTTPStatus.OK, msgspec.json.encode(body), "application/json")


def respond(status: HTTPStatus, body: bytes, content_type: str, csp: str = OTHER_CSP) -> Response:
    headers = Headers(_SECURITY_HEADERS)
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Content-Security-Policy"] = csp
    return Response(status.value, status.phrase, headers, body)


def _page(request: Request, page: bytes) -> Response:
    host = request.headers.get("Host", "")
    ws = f"ws://{host} wss://{host}" if _HOST.match(host) else ""
    csp = PAGE_CSP.format(ws=ws).replace("'self' ;", "'self';")
    return respond(HTTPStatus.OK, page, "text/html; charset=utf-8", csp)


_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]{1,255}$")


def metrics_response(site: Site, request: Request) -> Response:
    """`GET /metrics`, behind `metrics_key` when one is set."""
    if site.metrics_key is not None:
        from server.access import same_secret

        if not same_secret(_bearer(request), site.metrics_key):
            return _text(HTTPStatus.UNAUTHORIZED, "metrics need the metrics key\n")
    body, content_type = site.metrics()
    return respond(HTTPStatus.OK, body, content_type)


def _bearer(request: Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


def _text(status: HTTPStatus, text: str) -> Response:
    return respond(status, text.encode(), "text/plain; charset=utf-8")


def _asset(site: Site, name: str) -> bytes | None:
    return site.assets(name) if _STATIC_NAME.match(name) else None


def refuse_repeated_headers(request: Request) -> Response | None:
    """A 400 for a request that repeats a header read as one value; None when it does not.

    Called first on every request (`App.process_request`), before the Origin check reads.
    """
    for name in SINGLE_VALUED:
        if len(request.headers.get_all(name)) > 1:
            return _text(HTTPStatus.BAD_REQUEST, f"repeated {name} header\n")
    return None


async def handle_http(site: Site, request: Request) -> Response | None:
    """Answers a plain GET; returns None to let a WebSocket handshake on /v1/live go on."""
    refused = refuse_repeated_headers(request)
    if refused is not None:
        return refused
    try:
        url = urlsplit(request.path)
    except ValueError:  # `GET //[`: an authority that is not one
        return _text(HTTPStatus.BAD_REQUEST, "bad request path\n")
    path = url.path
    if path == "/v1/live":
        return None
    if request.method not in ("GET", "HEAD"):  # websockets 17 hands other methods over
        response = _text(HTTPStatus.METHOD_NOT_ALLOWED, f"{request.method} is not served here\n")
        response.headers["Allow"] = "GET, HEAD"
        return response
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return _text(HTTPStatus.NOT_FOUND, "WebSocket endpoint is /v1/live\n")
    if path == "/healthz":
        return _text(HTTPStatus.OK, "ok\n")
    if path == "/v1/languages":
        return _languages(site)
    if path == "/metrics" and site.metrics_here:
        return metrics_response(site, request)
    if path in ("/", "/index.html"):
        page = _asset(site, "index.html")
        if page is None:
            return _text(HTTPStatus.NOT_FOUND, "participant page missing\n")
        return _page(request, page)
    if path in ("/trainer", "/trainer/", "/trainer.html"):
        page = _asset(site, "trainer.html")
        if page is None:
            return _text(HTTPStatus.NOT_FOUND, "trainer page missing\n")
        return _page(request, page)
    if path in ("/history", "/history/", "/history.html"):
        page = _asset(site, "history.html")
        if page is None:
            return _text(HTTPStatus.NOT_FOUND, "history page missing\n")
        return _page(request, page)
    if path.startswith("/static/"):
        name = path.removeprefix("/static/")
        data = _asset(site, name)
        if data is None:
            return _text(HTTPStatus.NOT_FOUND, "not found\n")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return respond(HTTPStatus.OK, data, content_type)
    query = parse_qs(url.query)
    match = _REPORT_PATH.match(path)
    if match:
        return await _report(site.reports, request, match.group(1), query)
    match = _REPORT_LINK_PATH.match(path)
    if match:
        return await _report_link(site.reports, match.group(1), _bearer(request))
    match = _PICTURE_PATH.match(path)
    if match:
        return await _picture(site.reports, match.group(1), match.group(2), _token(request, query))
    if site.people is not None:
        found = await _people(site.people, path, _token(request, query))
        if found is not None:
            return found
    return _text(HTTPStatus.NOT_FOUND, "not found\n")


async def _picture(reports: Reports, session_id: str, which: str, token: str) -> Response:
    """A call's timeline or talk share over time, as the report `token` may read: for the
    trainer's detail view while the call runs, and for anyone who may read the figures."""
    report = await reports.report(session_id, token)
    if not isinstance(report, SessionReport):
        return _text(HTTPStatus.NOT_FOUND, "no figures of this call for this token\n")
    names = names_of(report)
    if which == "timeline":
        svg = timeline_svg(report, names=names)
    else:
        svg = talk_share_svg(report, DEFAULT_TALK_TARGET, names=names)
    return respond(HTTPStatus.OK, svg.encode(), "image/svg+xml; charset=utf-8")


async def _people(people: People, path: str, token: str) -> Response | None:
    """The history and export endpoints; one 404 for unknown ids and wrong tokens."""
    body: bytes | None
    if path == "/v1/reps/me/history":
        body = await people.rep_history(token)
    elif path == "/v1/reps/me/export":
        body = await people.export_rep(token)
    elif match := _REP_HISTORY.match(path):
        body = await people.rep_history(token, match.group(1))
    elif match := _GROUP_HISTORY.match(path):
        body = await people.group_history(token, match.group(1))
    elif match := _EXPORT_PATH.match(path):
        body = await people.export_call(match.group(1), token)
    else:
        return None
    if body is None:
        return _text(HTTPStatus.NOT_FOUND, "nothing kept for this id and token\n")
    return respond(HTTPStatus.OK, body, "application/json")


def _token(request: Request, query: dict[str, list[str]]) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return query.get("token", [""])[0]


async def _report_link(reports: Reports, session_id: str, token: str) -> Response:
    """A short-lived link to the report, for a browser tab or to pass on: the token travels
    in the `Authorization` header only, never in a URL (a query `token` is not read)."""
    link = await reports.link(session_id, token)
    if link is None:
        return _text(HTTPStatus.NOT_FOUND, "no report for this session and token\n")
    body = {
        "url": f"/v1/sessions/{session_id}/report?link={link}",
        "expires_in_s": reports.link_lifetime_s,
    }
    return respond(HTTPStatus.OK, msgspec.json.encode(body), "application/json")


async def _report(
    reports: Reports, request: Request, session_id: str, query: dict[str, list[str]]
) -> Response:
    if "link" in query:  # a signed link opens what it was made for, whatever else is sent
        report = await reports.report_by_link(session_id, query["link"][0])
    else:
        report = await reports.report(session_id, _token(request, query))
    if report is None:
        # One answer for "no such session" and "wrong token": ids are not probed.
        return _text(HTTPStatus.NOT_FOUND, "no report for this session and token\n")
    accept = ", ".join(request.headers.get_all("Accept"))  # a list header: may repeat
    wants_html = query.get("format", [""])[0] == "html" or "text/html" in accept
    if wants_html:
        scorecard = report.scorecard if isinstance(report, SessionReport) else None
        page = report_page(report, scorecard, names=names_of(report))
        return respond(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8", REPORT_CSP)
    return respond(HTTPStatus.OK, codec.encode(report), "application/json")
