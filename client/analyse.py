"""`sparring analyse`: a consented recording through the live core, kept, and its scorecard.

The terminal front: declared consent and files checked first, a progress bar on standard
error, the report (or its JSON) on standard output. The analysis is server/recording.py.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from client.terms import parse_scopes
from models.errors import BadConsent, SparringError

# One recognition at a time with both cores on it: on 2 cores this beat two at a time
# with one core each (bench/bench_analyse.py, bench/README.md).
RECOGNITION_THREADS = 2
RECOGNITION_WORKERS = 1
BAR_WIDTH = 30


def parse_consents(values: Sequence[str]) -> dict[str, str]:
    """`["rep=Anna", "customer=Bram"]` -> {"rep": "Anna", "customer": "Bram"}.

    Raises:
        BadConsent: a value without `role=Name`, an unknown role, a role given twice.
    """
    names: dict[str, str] = {}
    for value in values:
        role, sep, name = value.partition("=")
        role, name = role.strip().lower(), name.strip()
        if not sep or not name:
            raise BadConsent(f"--consent {value!r}: write ROLE=NAME, e.g. --consent rep=Anna")
        if role not in ("rep", "customer"):
            raise BadConsent(f"--consent {value!r}: the role is rep or customer")
        if role in names:
            raise BadConsent(f"--consent given twice for the {role}")
        names[role] = name
    return names


class ProgressBar:
    """Audio analysed so far, on standard error: redrawn in place on a terminal, else a
    line every tenth."""

    def __init__(self, stream: object = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self._last_tenth = -1

    def __call__(self, done_s: float, total_s: float) -> None:
        share = min(1.0, done_s / total_s) if total_s > 0 else 1.0
        elapsed_s = max(1e-6, time.perf_counter() - self.started)
        filled = round(share * BAR_WIDTH)
        line = (
            f"analysing [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share * 100:3.0f}%"
            f"  {_clock(done_s)} / {_clock(total_s)} of audio  {done_s / elapsed_s:4.1f}x real time"
        )
        if self.tty:
            print(f"\r{line}", end="" if share < 1 else "\n", file=self.stream, flush=True)
        elif int(share * 10) > self._last_tenth:
            self._last_tenth = int(share * 10)
            print(line, file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def run_analyse(
    files: Sequence[str],
    *,
    consents: Sequence[str],
    scopes: str,
    language: str,
    playbook: str | None,
    title: str,
    as_json: bool,
    store_target: str | Path | None,
    model: str,
    node: str,
    device: str = "auto",
    compute_type: str = "auto",
) -> int:
    """Runs `sparring analyse`; returns the exit status (2: refused, 1: failed)."""
    from server.asr.models import ModelUnavailable
    from server.media import read_tracks
    from server.recording import Declared

    try:
        names = parse_consents(consents)
        declared = Declared(
            rep=names.get("rep", ""),
            customer=names.get("customer", ""),
            scopes=parse_scopes(scopes),
        )
        for name in files:
            if not Path(name).is_file():
                raise SparringError(f"no such file: {name}")
        tracks = read_tracks(files)
        playbook_value = _playbook(playbook)
        recognizer = _recognizer(model, language, device, compute_type)
    except SparringError as exc:
        print(f"sparring analyse: {exc.message}", file=sys.stderr)
        return 2
    except ModelUnavailable as exc:
        print(f"sparring analyse: {exc}", file=sys.stderr)
        return 2
    return _analyse_and_keep(
        tracks, declared, playbook_value, language, title, recognizer, as_json, store_target, node
    )


def _analyse_and_keep(
    tracks, declared, playbook, language, title, recognizer, as_json, store_target, node
) -> int:
    from server.recording import analyse, keep
    from server.render import names_of, report_text
    from server.voice import silero

    print(
        f"{_clock(tracks.duration_s)} of audio; consent declared for {declared.rep} (rep) and"
        f" {declared.customer} (customer): {', '.join(declared.scopes)}",
        file=sys.stderr,
    )
    analysed = analyse(
        tracks,
        declared,
        playbook=playbook,
        language=language,
        title=title,
        recognizer=recognizer,
        workers=RECOGNITION_WORKERS,
        confirmer_factory=silero.SileroConfirmer if silero.available() else None,
        on_progress=ProgressBar(),
    )
    session = analysed.session
    try:
        asyncio.run(keep(analysed, store_target, node=node))
    except SparringError as exc:
        print(f"sparring analyse: {exc.message}", file=sys.stderr)
        return 1
    report = session.report()
    how = f"sparring report {session.id} --token={analysed.tokens.rep} {_store_flag(store_target)}"
    speed = tracks.duration_s / analysed.wall_s if analysed.wall_s > 0 else 0.0
    done = (
        f"analysed {_clock(tracks.duration_s)} of audio in {analysed.wall_s:.1f} s"
        f" ({speed:.1f}x real time), {analysed.recognized} utterances recognised;"
        f" kept as call {session.id}"
    )
    if as_json:
        print(msgspec.json.encode(report).decode())
        print(done, file=sys.stderr)
        print(f"read it again: {how}", file=sys.stderr)
        return 0
    print(report_text(report, report.scorecard, names=names_of(report)), end="")
    print()
    print(done[0].upper() + done[1:] + ".")
    print(f"Read it again: {how}")
    return 0


def _store_flag(target: str | Path | None) -> str:
    if isinstance(target, str) and "://" in target:
        return f"--db {target}"
    return f"--data-dir {target}"


def _playbook(path: str | None):  # type: ignore[no-untyped-def]
    from models.playbook import default_playbook, load_playbook

    return load_playbook(path) if path else default_playbook()


def _recognizer(  # type: ignore[no-untyped-def]
    model: str, language: str, device: str = "auto", compute_type: str = "auto"
):
    """The speech model for the call's language, where `device` says; None for `--model none`.

    Raises:
        ModelUnavailable: it cannot be loaded (DeviceUnavailable: not on that device).
        SparringError: it does not transcribe the call's language.
    """
    if model.lower() == "none":
        return None
    from server.asr.device import Placement, load_placed, resolve_placement
    from server.asr.engine import Recognizer
    from server.blas import limit_blas_threads

    limit_blas_threads(1)  # the analysis has recognition threads of its own

    if model == "auto":
        model = "base" if language == "nl" else "tiny.en"

    def load(placement: Placement) -> Recognizer:
        recognizer = Recognizer(
            model,
            cpu_threads=RECOGNITION_THREADS,
            num_workers=RECOGNITION_WORKERS,
            compute_type=placement.compute_type,
            device=placement.device,
        )
        if placement.device == "cuda":  # missing CUDA libraries show at the first decode
            recognizer.warm_up(calls=1)
        return recognizer

    recognizer, placement = load_placed(resolve_placement(device, compute_type), load)
    print(f"recognition: {model} on {placement.describe()}", file=sys.stderr)
    if not recognizer.supports(language):
        raise SparringError(f"the model {model} does not transcribe {language!r}; try --model base")
    return recognizer
