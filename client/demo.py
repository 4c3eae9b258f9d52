"""`sparring demo`: an embedded server, a bundled call, two real clients, a live terminal view."""

from __future__ import annotations

import asyncio
import heapq
import json
import sys
import time
from importlib import resources

from client.stream import Participant, create_session, read_audio
from models.errors import NOTICE_CODES
from models.wire import ErrorMessage, Metrics, Nudge, ServerMessage, State, Transcript
from server.app import Server
from server.asr.device import DeviceUnavailable
from server.asr.models import ModelUnavailable
from server.config import Config

CALLS = ("good", "pushy", "closed", "nl_good", "nl_pushy", "nl_closed")
DRAIN_TIMEOUT_S = 15.0


METRICS_EVERY_S = 5
# A line waits until the call is this far past its moment (audio seconds) before it is
# printed, so that a transcript, which comes back after its words were said, takes its
# place before the nudges and figures that followed it: the first partial of an utterance
# comes after a second of speech, and recognition takes up to about a second of wall time,
# which is `speed` seconds of audio.
HOLD_S = 3.0
HOLD_PER_SPEED_S = 1.0
HOLD_MARGIN_S = 1.0


class TerminalView:
    """Prints what the rep's overlay would show, one readable line at a time, in audio-time
    order: lines wait for the transcripts of words said before them."""

    def __init__(self, color: bool, *, speed: float = 1.0) -> None:
        self.color = color and sys.stdout.isatty()
        self.hold_s = HOLD_S + HOLD_PER_SPEED_S * max(speed, 1.0)
        self._last_metrics_s = -METRICS_EVERY_S
        self._now_s = 0.0  # the call's audio time, from metrics
        self._held: list[tuple[float, int, str]] = []  # (audio time, arrival, line)
        self._arrivals = 0
        self._speaking: dict[tuple[str, int], float] = {}  # utterances shown partially: start

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def show(self, message: ServerMessage) -> None:
        match message:
            case State():
                on = (
                    self._c("1;41;97", " ANALYSIS ON ")
                    if message.live
                    else self._c("1;100;97", " analysis off ")
                )
                if message.status == "ended":
                    self.flush()
                waiting = (
                    f"waiting for: {', '.join(message.waiting_for)}"
                    if message.waiting_for
                    else message.status
                )
                print(f"{on} {waiting}", flush=True)
            case Metrics():
                self._now_s = max(self._now_s, message.at)
                if message.at - self._last_metrics_s >= METRICS_EVERY_S:
                    self._last_metrics_s = message.at
                    share = message.talk_window.rep
                    bar = "█" * round(share * 20) + "░" * (20 - round(share * 20))
                    self._hold(
                        message.at,
                        f"[{message.at:6.1f}s] rep {bar} {share * 100:3.0f}% (2 min)"
                        f" | call {message.talk.rep * 100:3.0f}%"
                        f" | monologue {message.current_monologue_s:4.0f}s"
                        f" | interruptions {message.interruptions}",
                    )
            case Nudge():
                colour = "1;33" if message.severity.value == "warn" else "1;36"
                self._hold(
                    message.at,
                    self._c(colour, f"[{message.at:6.1f}s] ▶ NUDGE {message.rule}: {message.text}"),
                )
            case Transcript() if not message.final:
                self._speaking[(message.speaker, message.segment)] = message.start
            case Transcript():
                self._speaking.pop((message.speaker, message.segment), None)
                # Recognition that runs late (a busy machine, a long monologue without
                # partials) makes every later line wait as long, so that it stays in order.
                self.hold_s = max(self.hold_s, self._now_s - message.start + HOLD_MARGIN_S)
                self._hold(
                    message.start, f"[{message.start:6.1f}s]   {message.speaker}: {message.text}"
                )
            case ErrorMessage() if message.code in NOTICE_CODES:
                print(self._c("1;33", f"notice {message.code}: {message.message}"), flush=True)
            case ErrorMessage():
                print(self._c("1;31", f"error {message.code}: {message.message}"), flush=True)
            case _:
                pass
        self._release()

    def _hold(self, at_s: float, line: str) -> None:
        self._arrivals += 1
        heapq.heappush(self._held, (at_s, self._arrivals, line))

    def _release(self) -> None:
        """Prints the lines no transcript still on its way can come before."""
        horizon = self._now_s - self.hold_s
        if self._speaking:
            horizon = min(horizon, min(self._speaking.values()) - 1e-3)
        while self._held and self._held[0][0] <= horizon:
            print(heapq.heappop(self._held)[2], flush=True)

    def flush(self) -> None:
        """Prints every line still held (the call has ended)."""
        while self._held:
            print(heapq.heappop(self._held)[2], flush=True)


async def run_demo(
    call: str = "pushy",
    speed: float = 3.0,
    color: bool = True,
    model: str = "auto",
    data_dir: str | None = None,
    device: str = "auto",
    compute_type: str = "auto",
) -> int:
    """Streams a bundled call through an embedded server; returns the exit status.

    `model` "auto" picks tiny.en for English calls and the multilingual base for Dutch;
    `device` and `compute_type` say where it runs (server/asr/device.py).
    The call is kept in `data_dir` (as `sparring serve` keeps calls), so that its report
    can be read after the demo's server is gone; None keeps nothing.
    """
    if call not in CALLS:
        print(
            f"sparring demo: unknown call {call!r}; choose one of {', '.join(CALLS)}",
            file=sys.stderr,
        )
        return 2
    calls = resources.files("client").joinpath("calls")
    truth = json.loads(calls.joinpath(f"{call}.json").read_text("utf-8"))
    with (
        resources.as_file(calls.joinpath(f"{call}.rep.flac")) as rep_path,
        resources.as_file(calls.joinpath(f"{call}.customer.flac")) as customer_path,
    ):
        rep_audio = read_audio(rep_path)
        customer_audio = read_audio(customer_path)
    view = TerminalView(color, speed=speed)
    if model == "auto":
        model = "base" if truth["language"] == "nl" else "tiny.en"
    server = Server(
        Config(port=0, model=model, data_dir=data_dir, device=device, compute_type=compute_type)
    )
    try:
        await server.__aenter__()
    except DeviceUnavailable as exc:  # asked for explicitly: going on on the CPU would hide it
        print(f"sparring demo: {exc}", file=sys.stderr)
        return 2
    except ModelUnavailable as exc:
        print(f"sparring demo: {exc}; going on without transcripts", file=sys.stderr)
        server = Server(Config(port=0, model="none", data_dir=data_dir))
        await server.__aenter__()
    try:
        status, session_id, token = await _run(
            server, call, speed, truth, rep_audio, customer_audio, view
        )
    finally:
        await server.__aexit__(None, None, None)  # the call is kept before this returns
    if data_dir is not None:
        print(
            f"  report            sparring report {session_id} --token={token} --data-dir {data_dir}"
        )
    return status


async def _run(server, call, speed, truth, rep_audio, customer_audio, view) -> tuple[int, str, str]:
    """Runs the call through a started server and prints what the rep would see.

    Returns:
        The exit status, the call's id and the rep's token.
    """
    srv = server
    print(
        f"Call '{call}' ({truth['duration_s']:.0f} s of audio, {truth['language']}), streamed at {speed:g}x",
        flush=True,
    )
    created = await create_session(srv.ws_url, title=f"Demo: {call}", language=truth["language"])
    async with (
        Participant(
            srv.ws_url,
            created.tokens.rep,
            "Rep (demo)",
            rep_audio.format(),
            on_message=view.show,
        ) as rep,
        Participant(
            srv.ws_url, created.tokens.customer, "Customer (demo)", customer_audio.format()
        ) as customer,
    ):
        print("Both parties consent ...", flush=True)
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), timeout=10)
        start = time.monotonic() + 0.05
        await asyncio.gather(
            rep.stream(rep_audio.frames(), speed=speed, start_at=start),
            customer.stream(customer_audio.frames(), speed=speed, start_at=start),
        )
        if srv.app.asr is not None:  # the tail of the call is still being recognised
            await srv.app.asr.wait_idle(DRAIN_TIMEOUT_S)
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), timeout=10)
    session = srv.app.hub.get(created.session)
    assert session is not None
    report = session.report()
    print()
    print("Summary of the call")
    print(f"  analysed          {report.duration_s:.0f} s")
    print(
        f"  talk share        rep {report.talk.rep * 100:.0f}% / customer {report.talk.customer * 100:.0f}%"
        f"  (script: rep {truth['talk_share']['rep'] * 100:.0f}%)"
    )
    print(f"  longest monologue {report.longest_monologue_s:.0f} s")
    print(f"  interruptions     {len(report.interruptions)}")
    gap = report.mean_response_gap_s
    print(f"  response gap      {'-' if gap is None else f'{gap:.2f} s'} (mean)")
    print(
        f"  nudges            {len(report.nudges)}: {', '.join(n.rule for n in report.nudges) or 'none'}"
    )
    print(f"  consent ledger    {len(report.consent)} entries")
    language = report.language_report
    if language is not None:
        wpm = "-" if language.wpm is None else f"{language.wpm:.0f}"
        print(
            f"  questions         {language.questions.open} open / {language.questions.closed} closed"
            f"  · summaries {language.summaries} · pace {wpm} wpm · fillers {language.fillers}"
        )
        done = [c.label for c in language.checklist if c.done]
        missing = [c.label for c in language.checklist if not c.done]
        print(
            f"  checklist         covered: {', '.join(done) or '-'}; not yet: {', '.join(missing) or '-'}"
        )
    errors = [
        e
        for e in rep.of_type(ErrorMessage) + customer.of_type(ErrorMessage)
        if e.code not in NOTICE_CODES
    ]
    return (1 if errors else 0), created.session, created.tokens.rep
