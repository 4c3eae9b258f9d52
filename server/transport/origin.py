"""Which web pages may open the live WebSocket: the check of the upgrade's `Origin`.

A browser sends `Origin` with every WebSocket upgrade, and any page a colleague opens on
the LAN could otherwise create calls here. Non-browser clients (the CLI, scripts) send
none and stay allowed: the check guards browsers against pages, not the server against
clients, which the limits do.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.http11 import Request, Response

from server.transport.http import respond

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def normal_origin(value: str) -> str:
    """`scheme://host[:port]` in lower case, without a default port or a trailing slash."""
    value = value.strip().rstrip("/")
    if value in ("*", "null"):
        return value
    try:
        parts = urlsplit(value.lower())
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def _host_only(netloc: str, scheme: str) -> str:
    """A Host header as `normal_origin` writes its authority."""
    return normal_origin(f"{scheme}://{netloc}").partition("://")[2]


class Origins:
    """The browser origins allowed to open `WS /v1/live`.

    Args:
        public_url: The server's public base URL (`--public-url`), allowed when set.
        allowed: More origins (`--allow-origin`, repeatable); `*` allows any page.
    """

    def __init__(self, public_url: str | None, allowed: Iterable[str] = ()) -> None:
        self._allowed = {normal_origin(o) for o in allowed} - {""}
        if public_url:
            self._allowed.add(normal_origin(public_url))

    def allows(self, origin: str | None, host: str | None) -> bool:
        """Whether an upgrade from `origin` to a server reached as `host` goes on."""
        if origin is None:
            return True  # not a browser
        wanted = normal_origin(origin)
        if "*" in self._allowed or (wanted and wanted in self._allowed):
            return True
        scheme, _, authority = wanted.partition("://")
        if scheme not in ("http", "https") or not host:
            return False
        # The server's own page: behind a TLS proxy the page is https and Host the same.
        return authority == _host_only(host, scheme)

    def refuse(self, request: Request) -> Response | None:
        """A 403 for a WebSocket upgrade from a page not allowed; None to go on."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return None
        if self.allows(request.headers.get("Origin"), request.headers.get("Host")):
            return None
        return respond(
            HTTPStatus.FORBIDDEN,
            b"this page's origin may not open Sparring's live connection (--allow-origin)\n",
            "text/plain; charset=utf-8",
        )
