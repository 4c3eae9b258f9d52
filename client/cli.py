"""The `sparring` command: serve, join, demo, report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from models import codec
from models.errors import NOTICE_CODES, SparringError
from models.wire import ErrorMessage, ServerMessage


def ws_url_of(server: str) -> str:
    """Accepts http(s)://host:port, ws(s)://host:port or host:port; returns the live URL."""
    if "://" not in server:
        server = f"http://{server}"
    parts = urlsplit(server)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path.endswith("/v1/live") else "/v1/live"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def token_of(value: str) -> str:
    """Accepts a bare token or a join link (`...#join=TOKEN`)."""
    return value.split("#join=", 1)[1] if "#join=" in value else value


def _placement_refused(args: argparse.Namespace, command: str) -> bool:
    """Checks --device and --compute-type before anything starts; prints the one line
    that says why when this machine cannot do them."""
    from server.asr.device import resolve_placement
    from server.asr.models import ModelUnavailable

    if args.model.lower() == "none":
        return False
    try:
        resolve_placement(args.device, args.compute_type)
    except ModelUnavailable as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return True
    return False


def _add_placement_flags(parser: argparse.ArgumentParser) -> None:
    from server.asr.device import COMPUTE_TYPES, DEVICES

    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where Whisper runs: auto = cuda when CTranslate2 sees a CUDA device, else cpu",
    )
    parser.add_argument(
        "--compute-type",
        choices=("auto", *COMPUTE_TYPES),
        default="auto",
        metavar="TYPE",
        help="CTranslate2 compute type: auto = int8 on cpu, float16 on cuda; or "
        + ", ".join(COMPUTE_TYPES)
        + " (checked against what the device supports)",
    )


def _serve(args: argparse.Namespace) -> int:
    from server.app import Server
    from server.asr.models import ModelUnavailable
    from server.config import Config

    if _placement_refused(args, "sparring"):
        return 2
    config = Config(
        host=args.host,
        port=args.port,
        playbook=args.playbook,
        model=args.model,
        language=args.language,
        public_url=args.public_url,
        filler_prompt={"auto": None, "on": True, "off": False}[args.filler_prompt],
        trainer_key=args.trainer_key or os.environ.get("SPARRING_TRAINER_KEY") or None,
        node=args.node,
        mqtt=args.mqtt,
        db=args.db,
        data_dir=None if args.db else (args.data_dir or str(_default_data_dir())),
        retention_days=args.retention_days,
        device=args.device,
        compute_type=args.compute_type,
        asr_workers=args.asr_workers,
        **_limits_of(args),
    )

    async def run() -> None:
        # Signals are taken from the first moment: a stop asked for while the model loads
        # is a clean stop (the bus says goodbye), not a traceback.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        async with Server(config) as srv:
            print(f"Sparring is listening on {srv.http_url}", flush=True)
            print(f"  participant page: {srv.http_url}/", flush=True)
            print(f"  live WebSocket:   {srv.ws_url}", flush=True)
            print(f"  health, metrics:  {srv.http_url}/healthz  {srv.http_url}/metrics", flush=True)
            print(f"  trainer page:     {srv.http_url}/trainer", flush=True)
            recognizers = srv.app.recognizers
            shown = recognizers.describe() if recognizers else "off (--model none)"
            print(f"  recognition:      {shown}", flush=True)
            if srv.app.placement is not None:
                print(f"  speech device:    {srv.app.placement.describe()}", flush=True)
            if config.trainer_key is None:  # shown once: it exists only in this process
                print(f"  trainer key:      {srv.app.trainer_key}  (generated)", flush=True)
            if config.mqtt:
                print(f"  node {config.node} on MQTT {config.mqtt}", flush=True)
            await stop.wait()
            print("stopping", flush=True)

    try:
        asyncio.run(run())
    except SparringError as exc:
        print(f"sparring: {exc.message}", file=sys.stderr)
        return 2
    except ModelUnavailable as exc:
        print(f"sparring: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"sparring: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr
        )
        return 2
    return 0


def _limits_of(args: argparse.Namespace) -> dict[str, object]:
    """The `serve` flags of limits and access, as `Config` fields (docs/protocol.md)."""
    fields = {name: getattr(args, name) for name in _LIMIT_FLAGS}
    fields["allow_origins"] = tuple(args.allow_origin or ())
    fields["metrics_key"] = args.metrics_key or os.environ.get("SPARRING_METRICS_KEY") or None
    return fields


_LIMIT_FLAGS = (
    "creates_per_min",
    "create_burst",
    "max_sessions",
    "max_observers",
    "audio_rate_x",
    "audio_burst_s",
    "consents_per_min",
    "whispers_per_min",
    "max_connections_per_address",
    "hello_timeout_s",
    "never_joined_s",
    "everyone_left_s",
    "call_idle_s",
    "max_call_s",
    "rejoin_grace_s",
    "shutdown_s",
    "create_needs_key",
    "metrics_listen",
    "certfile",
    "keyfile",
)


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    from server.config import Config

    d = Config()
    limits = serve.add_argument_group("limits (docs/protocol.md, Limits; 0 turns a time limit off)")
    for flag, kind, help_text in (
        ("--creates-per-min", int, "new calls a minute per client address, after the burst"),
        ("--create-burst", int, "new calls one address may make at once"),
        ("--max-sessions", int, "open calls on this node"),
        ("--max-observers", int, "observers per call"),
        ("--audio-rate-x", float, "audio per connection, times real time (faster is paced)"),
        ("--audio-burst-s", float, "seconds of audio taken at once before pacing"),
        ("--consents-per-min", int, "consent messages a minute per connection"),
        ("--whispers-per-min", int, "whispers a minute per connection"),
        ("--max-connections-per-address", int, "open live connections per client address"),
        ("--hello-timeout-s", float, "seconds a new connection has to send hello or a request"),
        ("--never-joined-s", float, "an unused call ends this long after it was created"),
        ("--everyone-left-s", float, "a call everyone left ends after this"),
        ("--call-idle-s", float, "a call nobody sent anything to ends after this"),
        ("--max-call-s", float, "the longest a call lasts"),
        ("--rejoin-grace-s", float, "a dropped rep or customer may rejoin their call this long"),
        ("--shutdown-s", float, "on SIGTERM, calls end and clients are closed within this"),
    ):
        name = flag[2:].replace("-", "_")
        default = getattr(d, name)
        limits.add_argument(flag, type=kind, default=default, help=f"{help_text} ({default:g})")
    access = serve.add_argument_group("access")
    access.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="a web origin (https://host:port) whose pages may connect, besides this server's "
        "own; repeatable; '*' allows any",
    )
    access.add_argument(
        "--create-needs-key",
        action="store_true",
        help="only a rep link or the trainer key may create calls",
    )
    access.add_argument(
        "--metrics-key",
        help="GET /metrics needs 'Authorization: Bearer KEY' (or SPARRING_METRICS_KEY)",
    )
    access.add_argument(
        "--metrics-listen", metavar="HOST:PORT", help="serve /metrics there only, not on --port"
    )
    access.add_argument("--certfile", help="TLS certificate chain (PEM): https and wss")
    access.add_argument(
        "--keyfile", help="the certificate's private key (PEM; default: in certfile)"
    )
    serve.add_argument(
        "--log-format", choices=["text", "json"], default="text", help="json: one object a line"
    )


def _print_event(message: ServerMessage) -> None:
    print(codec.encode(message).decode(), flush=True)


def _join(args: argparse.Namespace) -> int:
    from client.stream import Participant, read_audio
    from client.terms import parse_scopes, terms_text

    try:
        scopes = parse_scopes(args.scopes)
    except SparringError as exc:
        print(f"sparring: {exc.message}", file=sys.stderr)
        return 2

    if args.mic:  # before connecting: a missing package is one line, not a half-joined call
        from client.capture import require_sounddevice

        require_sounddevice()

    async def run() -> int:
        url = ws_url_of(args.server)
        token = token_of(args.token)
        if args.wav:
            audio = read_audio(args.wav)
            audio_format = audio.format()
        else:
            from client.capture import MIC_FORMAT, microphone_frames

            audio = None
            audio_format = MIC_FORMAT
        async with Participant(
            url, token, args.name, audio_format, scopes=scopes, on_message=_print_event
        ) as me:
            stereo = audio is not None and audio.channels == 2
            who = "you and the customer on this device" if stereo else "you"
            print(terms_text(scopes, for_whom=who), file=sys.stderr, end="", flush=True)
            if stereo:
                if not args.customer_name:
                    print(
                        "sparring: stereo needs --customer-name (the customer consents on this device)",
                        file=sys.stderr,
                    )
                    return 2
                await me.consent()
                await me.consent(on_behalf_of="customer", name=args.customer_name)
            else:
                await me.consent()
            print("waiting for every party to consent ...", file=sys.stderr, flush=True)
            waiter = asyncio.create_task(me.live.wait())
            done, _ = await asyncio.wait(
                [waiter, asyncio.create_task(me.ended.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            if not me.live.is_set():
                return 1
            if audio is not None:
                await me.stream(audio.frames(), speed=args.speed)
            else:
                await me.stream(microphone_frames())
            await me.end()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(me.ended.wait(), timeout=10)
            errors = [e for e in me.of_type(ErrorMessage) if e.code not in NOTICE_CODES]
            return 1 if errors else 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"sparring: cannot reach {args.server}: {exc}", file=sys.stderr)
        return 2


def _demo(args: argparse.Namespace) -> int:
    from client.demo import run_demo

    if _placement_refused(args, "sparring demo"):
        return 2
    return asyncio.run(
        run_demo(
            call=args.call,
            speed=args.speed,
            color=not args.no_color,
            model=args.model,
            device=args.device,
            compute_type=args.compute_type,
            data_dir=args.data_dir or str(_default_data_dir()),
        )
    )


def _analyse(args: argparse.Namespace) -> int:
    from client.analyse import run_analyse

    return run_analyse(
        args.files,
        consents=args.consent,
        scopes=args.scopes,
        language=args.language,
        playbook=args.playbook,
        title=args.title,
        as_json=args.json,
        store_target=args.db or (args.data_dir or str(_default_data_dir())),
        model=args.model,
        device=args.device,
        compute_type=args.compute_type,
        node=args.node,
    )


def _report(args: argparse.Namespace) -> int:
    """Prints a call's report: the scorecard readably, or with --json the raw JSON."""

    import msgspec

    from models.report import SessionReport, SharedReport
    from models.scorecard import Scorecard
    from server.render import names_of, report_text

    if args.data_dir or args.db:
        return _report_kept(args)
    server = args.server if "://" in args.server else f"http://{args.server}"
    parts = urlsplit(server)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = f"/v1/sessions/{quote(args.id, safe='')}/report"
    url = urlunsplit((scheme, parts.netloc, path, "", ""))
    body = _fetch(url, token_of(args.token), args, f"no report of call {args.id} for this token")
    if isinstance(body, int):
        return body
    if args.json:
        print(body.decode())
        return 0
    try:
        raw = msgspec.json.decode(body)
        kind = SessionReport if "talk" in raw else SharedReport
        report = msgspec.convert(raw, kind)
        scorecard = msgspec.convert(raw["scorecard"], Scorecard) if raw.get("scorecard") else None
    except (msgspec.ValidationError, msgspec.DecodeError, TypeError) as exc:
        print(f"sparring: the server sent a report this client cannot read: {exc}", file=sys.stderr)
        return 2
    print(report_text(report, scorecard, names=names_of(report)), end="")
    return 0


def _report_kept(args: argparse.Namespace) -> int:
    """`sparring report ID --data-dir D`: a kept call read from the store, no server needed."""
    from models import codec
    from server.archive import stored_view
    from server.render import names_of, report_text
    from server.store import open_store

    try:
        store = open_store(args.db or Path(args.data_dir))
    except SparringError as exc:
        print(f"sparring: {exc.message}", file=sys.stderr)
        return 2
    try:
        report = stored_view(store, args.id, token_of(args.token))
    finally:
        store.close()
    if report is None:
        print(f"sparring: no report of call {args.id} for this token", file=sys.stderr)
        return 1
    if args.json:
        print(codec.encode(report).decode())
        return 0
    scorecard = getattr(report, "scorecard", None)
    print(report_text(report, scorecard, names=names_of(report)), end="")
    return 0


def _fetch(url: str, token: str, args: argparse.Namespace, not_found: str) -> bytes | int:
    """GETs `url` with the token in a header; on failure says why and returns the exit code
    (1: nothing for this token, 2: the server answered otherwise or cannot be reached)."""
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=args.timeout
        ) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            print(f"sparring: {not_found}", file=sys.stderr)
            return 1
        print(f"sparring: {url} answered {exc.code} {exc.reason}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, OSError) as exc:
        print(f"sparring: cannot reach {args.server}: {exc}", file=sys.stderr)
        return 2


def _history(args: argparse.Namespace) -> int:
    """Prints a rep's progress (their rep token, or the trainer key and the rep's id) or a
    group's (the trainer key and --group)."""
    import json

    from server.render.history import group_history_text, rep_history_text

    if args.group:
        path = f"/v1/groups/{quote(args.group, safe='')}/history"
    elif args.rep:
        path = f"/v1/reps/{quote(args.rep, safe='')}/history"
    else:
        path = "/v1/reps/me/history"
    server = args.server if "://" in args.server else f"http://{args.server}"
    parts = urlsplit(server)
    url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    token = args.token.split("#rep=")[-1]
    body = _fetch(url, token, args, "no history for this rep or group and token")
    if isinstance(body, int):
        return body
    if args.json:
        print(body.decode())
        return 0
    history = json.loads(body)
    text = group_history_text if args.group else rep_history_text
    print(text(history, args.language), end="")
    return 0


def _default_data_dir() -> Path:
    """The user's data directory for Sparring (XDG), created by the store on first start."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sparring"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of 1 or more: {text!r}")
    return value


def _node_name(text: str) -> str:
    """A node name as ids, tokens and MQTT topics can carry it: [a-z0-9-], 1-32 long."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:32]
    if not name:
        raise argparse.ArgumentTypeError(f"not a usable node name: {text!r}")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sparring", description="Consent-first live conversation coach"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--playbook", help="TOML playbook (default: the shipped one)")
    serve.add_argument("--model", default="tiny.en", help="tiny.en | base | PATH | none")
    serve.add_argument("--language", default="en", choices=["en", "nl", "auto"])
    serve.add_argument("--public-url", help="base URL for join links behind a proxy")
    serve.add_argument(
        "--trainer-key",
        help="key trainers sign in with on /trainer (or SPARRING_TRAINER_KEY; default: generated)",
    )
    serve.add_argument(
        "--node",
        type=_node_name,
        default=os.environ.get("SPARRING_NODE") or _node_name(socket.gethostname()),
        help="this node's name, for many nodes behind one load balancer (default: host name)",
    )
    serve.add_argument(
        "--mqtt", help="mqtt://host:port of the broker that joins the nodes (default: one node)"
    )
    serve.add_argument(
        "--data-dir",
        help=f"where ended calls are kept, in SQLite (default: {_default_data_dir()})",
    )
    serve.add_argument(
        "--db", help="postgresql://user@host/db: keep calls in PostgreSQL (many nodes share it)"
    )
    serve.add_argument(
        "--retention-days", type=int, default=90, help="kept calls are deleted after this"
    )
    serve.add_argument(
        "--filler-prompt",
        choices=["auto", "on", "off"],
        default="auto",
        help="prime Whisper to write fillers (um, uh): auto = on for base, off for tiny.en",
    )
    _add_placement_flags(serve)
    serve.add_argument(
        "--asr-workers",
        type=_positive_int,
        help="recognitions run at once (default: 2 on cpu, 4 on cuda)",
    )
    _add_limit_flags(serve)
    serve.set_defaults(func=_serve)

    join = sub.add_parser("join", help="join a session and stream a file or the microphone")
    join.add_argument("--server", required=True, help="http://host:port of the server")
    join.add_argument("--token", required=True, help="join token or join link")
    source = join.add_mutually_exclusive_group(required=True)
    source.add_argument("--wav", help="WAV/FLAC file (stereo: left rep, right customer)")
    source.add_argument(
        "--mic", action="store_true", help="the microphone (pip install 'sparring[mic]')"
    )
    join.add_argument(
        "--speed", type=float, default=1.0, help="x real time; 0 = as fast as possible"
    )
    join.add_argument("--name", default="", help="your name as others see it")
    join.add_argument("--customer-name", help="stereo mode: the customer consenting on this device")
    join.add_argument(
        "--scopes",
        default="coaching,transcript",
        help="what you consent to: coaching (required), transcript, trainer_view",
    )
    join.set_defaults(func=_join)

    demo = sub.add_parser("demo", help="stream a bundled practice call through an embedded server")
    demo.add_argument(
        "--call", default="pushy", help="good | pushy | closed | nl_good | nl_pushy | nl_closed"
    )
    demo.add_argument("--speed", type=float, default=3.0, help="x real time")
    demo.add_argument("--model", default="auto", help="auto | tiny.en | base | PATH | none")
    demo.add_argument("--no-color", action="store_true")
    _add_placement_flags(demo)
    demo.add_argument(
        "--data-dir",
        help=f"where the demo's call is kept, to read with sparring report (default: {_default_data_dir()})",
    )
    demo.set_defaults(func=_demo)

    analyse = sub.add_parser(
        "analyse",
        help="analyse a consented recording (stereo: left rep, right customer; or two files)",
    )
    analyse.add_argument(
        "files", nargs="+", metavar="FILE", help="a stereo file, or two mono files: rep customer"
    )
    analyse.add_argument(
        "--consent",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="consent declared by you for each party: --consent rep=Anna --consent customer=Bram",
    )
    analyse.add_argument(
        "--scopes",
        default="coaching,transcript",
        help="what the declared consent covers (coaching, transcript, trainer_view)",
    )
    analyse.add_argument("--language", default="en", choices=["en", "nl"])
    analyse.add_argument("--playbook", help="TOML playbook (default: the shipped one)")
    analyse.add_argument("--title", default="", help="the call's title")
    analyse.add_argument(
        "--json", action="store_true", help="print the report JSON (with its scorecard)"
    )
    analyse.add_argument(
        "--data-dir", help=f"where the call is kept, in SQLite (default: {_default_data_dir()})"
    )
    analyse.add_argument("--db", help="postgresql://user@host/db: keep the call in PostgreSQL")
    analyse.add_argument(
        "--model",
        default="auto",
        help="auto (tiny.en; base for Dutch) | tiny.en | base | PATH | none",
    )
    _add_placement_flags(analyse)
    analyse.add_argument(
        "--node",
        type=_node_name,
        default=os.environ.get("SPARRING_NODE") or _node_name(socket.gethostname()),
        help="the node name kept with the call (default: host name)",
    )
    analyse.set_defaults(func=_analyse)

    report = sub.add_parser("report", help="print a call's report and scorecard")
    report.add_argument("id", help="the call's session id")
    report.add_argument("--token", required=True, help="a join token or link, or the trainer key")
    report.add_argument("--server", default="http://127.0.0.1:8765", help="http://host:port")
    report.add_argument("--json", action="store_true", help="print the raw JSON")
    report.add_argument("--timeout", type=float, default=10.0, help="seconds to wait")
    report.add_argument(
        "--data-dir", help="read a kept call from this data directory instead of a server"
    )
    report.add_argument("--db", help="read a kept call from this PostgreSQL database")
    report.set_defaults(func=_report)

    history = sub.add_parser("history", help="print a rep's progress or a group's")
    history.add_argument(
        "rep", nargs="?", help="the rep's id (with the trainer key); none: the rep token's own"
    )
    history.add_argument("--token", required=True, help="a rep token or link, or the trainer key")
    history.add_argument("--group", help="a group's id (with the trainer key)")
    history.add_argument("--server", default="http://127.0.0.1:8765", help="http://host:port")
    history.add_argument("--language", default="en", choices=["en", "nl"])
    history.add_argument("--json", action="store_true", help="print the raw JSON")
    history.add_argument("--timeout", type=float, default=10.0, help="seconds to wait")
    history.set_defaults(func=_history)

    args = parser.parse_args(argv)
    from server.logs import configure

    configure(getattr(args, "log_format", "text"))
    # What the server loads and how long it took is for the operator to see.
    logging.getLogger("sparring").setLevel(logging.INFO)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
