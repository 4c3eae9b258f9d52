"""Security basics over real sockets: headers, `/metrics` access, TLS, and logs that hold
no token, key or transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import connect

from client.stream import Participant
from models.wire import AudioFormat, Created
from server.app import Server
from server.config import Config
from server.logs import CALL, CallFilter, JsonFormatter
from tests.waiting import recv


@contextlib.asynccontextmanager
async def serving(**config: object) -> AsyncIterator[Server]:
    async with Server(Config(port=0, model="none", **config)) as srv:  # type: ignore[arg-type]
        yield srv


async def get(
    url: str, path: str, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=tls)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *rest = head.decode("latin-1").split("\r\n")
    found = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest)}
    return int(status.split()[1]), found, body


# --- headers -----------------------------------------------------------------------------


async def test_security_pages_and_report_have_a_strict_csp(stream_call, server, call_audio) -> None:
    for path in ("/", "/trainer"):
        status, headers, _ = await get(server.http_url, path)
        csp = headers["content-security-policy"]
        assert status == 200 and "frame-ancestors 'none'" in csp
        assert "script-src 'self';" in csp and "unsafe" not in csp
        assert headers["x-frame-options"] == "DENY"
    rep, _, _ = await stream_call(
        call_audio("good", "rep"), call_audio("good", "customer"), "t", speed=0
    )
    session = next(iter(server.app.hub._ended))
    token = server.app.hub.tokens_of(session).rep
    status, headers, body = await get(
        server.http_url,
        f"/v1/sessions/{session}/report?format=html",
        {"Authorization": f"Bearer {token}"},
    )
    csp = headers["content-security-policy"]
    assert status == 200 and b"<style>" in body and b"<script" not in body
    assert "frame-ancestors 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "script-src" not in csp and "default-src 'none'" in csp  # no script at all


async def test_security_bad_request_path_is_400_not_500(server) -> None:
    status, _, _ = await get(server.http_url, "//[")
    assert status == 400


# --- metrics -----------------------------------------------------------------------------


async def test_security_metrics_behind_a_key() -> None:
    async with serving(metrics_key="m" * 24) as srv:
        status, _, _ = await get(srv.http_url, "/metrics")
        assert status == 401
        status, _, _ = await get(srv.http_url, "/metrics", {"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, body = await get(
            srv.http_url, "/metrics", {"Authorization": "Bearer " + "m" * 24}
        )
        assert status == 200 and b"sparring_limits_fired" in body


async def test_security_metrics_on_another_address_only() -> None:
    async with serving(metrics_listen="127.0.0.1:0") as srv:
        assert srv.metrics_url is not None
        status, _, _ = await get(srv.http_url, "/metrics")
        assert status == 404
        status, _, body = await get(srv.metrics_url.removesuffix("/metrics"), "/metrics")
        assert status == 200 and b"sparring_sessions" in body
        status, _, _ = await get(srv.metrics_url.removesuffix("/metrics"), "/")
        assert status == 404


# --- TLS ---------------------------------------------------------------------------------


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (cryptography, else openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither cryptography nor openssl to make a certificate")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


async def test_security_tls_serves_https_and_wss(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    async with serving(certfile=str(cert), keyfile=str(key)) as srv:
        assert srv.http_url.startswith("https://") and srv.ws_url.startswith("wss://")
        status, headers, _ = await get(srv.http_url, "/healthz", tls=trust)
        assert status == 200 and "content-security-policy" in headers
        async with connect(srv.ws_url, ssl=trust) as ws:
            await ws.send(json.dumps({"type": "create", "title": "over TLS"}))
            created = await recv(ws)
            assert isinstance(created, Created)
            assert created.join_urls.rep.startswith("https://")
        with pytest.raises(ssl.SSLError):  # a certificate nobody trusts is refused
            async with connect(srv.ws_url, ssl=ssl.create_default_context()):
                pass


# --- logs --------------------------------------------------------------------------------


async def test_security_logs_hold_no_token_key_or_transcript(caplog) -> None:
    caplog.set_level(logging.INFO)  # websockets logs frames, tokens too, at DEBUG only
    caplog.set_level(logging.DEBUG, logger="sparring")
    async with serving(
        trainer_key="T" * 24, hello_timeout_s=0.2, max_observers=1, consents_per_min=2
    ) as srv:
        async with connect(srv.ws_url) as ws:
            await ws.send(json.dumps({"type": "create", "title": "secret title", "key": "T" * 24}))
            created = await recv(ws)
            assert isinstance(created, Created)
        async with (
            Participant(srv.ws_url, created.tokens.rep, "Anna", AudioFormat()) as rep,
            Participant(srv.ws_url, created.tokens.customer, "Bob", AudioFormat()) as customer,
            Participant(srv.ws_url, created.tokens.observer, "Eva", None) as observer,
        ):
            await rep.consent()
            await customer.consent()
            for _ in range(3):
                await observer.send_json(
                    {"type": "consent", "granted": True, "scopes": ["coaching"]}
                )
            async with connect(srv.ws_url) as extra:  # a second observer: call full
                await extra.send(json.dumps({"type": "hello", "token": created.tokens.observer}))
                await extra.wait_closed()
            async with connect(srv.ws_url) as wrong:
                await wrong.send(json.dumps({"type": "hello", "token": created.tokens.rep + "x"}))
                await wrong.wait_closed()
            async with connect(srv.ws_url) as idle:
                await idle.wait_closed()  # hello deadline
            await rep.send_audio(b"\x10\x00" * 1600)
            await rep.end()
            await asyncio.wait_for(rep.ended.wait(), 5)
        # A report link made and opened, and one made up: neither is logged.
        path = f"/v1/sessions/{created.session}/report"
        status, _, body = await get(
            srv.http_url, f"{path}-link", {"Authorization": f"Bearer {created.tokens.rep}"}
        )
        assert status == 200
        url = json.loads(body)["url"]
        link = url.split("link=", 1)[1]
        assert (await get(srv.http_url, url))[0] == 200
        assert (await get(srv.http_url, f"{path}?link=rep.1.{'x' * 43}"))[0] == 404
    assert "limit " in caplog.text  # the limits did log
    assert link not in caplog.text and link.rsplit(".", 1)[1][:12] not in caplog.text
    secrets = [*created.tokens.__struct_fields__]
    for field in secrets:
        token = getattr(created.tokens, field)
        assert token not in caplog.text and token[:12] not in caplog.text, field
    assert "T" * 24 not in caplog.text and "secret title" not in caplog.text


def test_security_json_log_lines_carry_the_call() -> None:
    record = logging.LogRecord(
        "sparring.ws", logging.WARNING, __file__, 1, "limit %s", ("x",), None
    )
    record.limit = "audio_rate"
    token = CALL.set("n1.abc")
    try:
        CallFilter().filter(record)
    finally:
        CALL.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["call"] == "n1.abc" and line["limit"] == "audio_rate"
    assert line["msg"] == "limit x" and line["level"] == "warning"
