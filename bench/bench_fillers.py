"""Does Whisper write fillers ("um", "you know", "eh", "zeg maar"), and does a primer help?

For each model (tiny.en: English; base: English and Dutch) and each prompt condition,
final decodes (beam 5) of utterances cut from ground truth (start/end +- 0.2 s):

  none          no prompt
  primer        Recognizer(filler_prompt=True), no other prompt: FILLER_PRIMER[language]
  context       the previous utterance of the same speaker as recognised with no prompt
                (what the session passes as prompt)
  primer+ctx    filler_prompt=True with that context: the primer, then the context

Material:
  - client/calls/fillers (English, 19 fillers in the rep track by find_fillers);
  - generated filler-rich utterances (espeak-ng + sox into a temp dir): English and Dutch;
  - controls without fillers (client/calls/good for English, client/calls/nl_pushy for
    Dutch) to catch fillers the primer invents (and WER it costs).

Fillers are counted with server/core/fillers.find_fillers on the reference and on the
hypothesis; "hit" is the per-utterance multiset intersection (same filler phrase), so
recall = hit/ref and precision = hit/hyp. WER (jiwer, corpus) is computed after removing
the fillers find_fillers reports from both sides. Also checks the primer on silence and
noise (text produced or not).

Usage:
  .venv/bin/python bench/bench_fillers.py                  # all models, ~5 min on 2 cores
  .venv/bin/python bench/bench_fillers.py --models tiny.en --errors
"""

# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audio_io import load_audio  # noqa: E402

from server.asr.engine import FILLER_PRIMER, Recognizer  # noqa: E402
from server.asr.jobs import SAMPLE_RATE_HZ  # noqa: E402
from server.core.fillers import find_fillers  # noqa: E402
from server.core.questions import tokenize  # noqa: E402

CALLS_DIR = ROOT / "client" / "calls"
MARGIN_S = 0.2
CONDITIONS = ("none", "primer", "context", "primer+ctx")
CONTEXT_CHARS = 200  # as server/core/session.py

EXTRA_EN = (
    "Um, so, I think, uh, the main issue is, you know, the price.",
    "Yeah, I mean, we, uh, we tried that last year, and, um, it was, like, too slow.",
    "So, like, uh, what would, um, the timeline be for you?",
    "Uh, honestly, I mean, um, it depends on the, uh, budget.",
)
EXTRA_NL = (
    "Eh, ik denk dat, ehm, de prijs nou, zeg maar, het grootste probleem is.",
    "Nou, we hebben dat, eh, vorig jaar geprobeerd, weet je, maar het was, ehm, te traag.",
    "Ehm, hoe ziet, eh, uw planning er, zeg maar, uit?",
    "Ja, eh, weet je, het hangt, ehm, eigenlijk af van het budget.",
    "Nou, eh, ik bel u, ehm, volgende week terug.",
)


@dataclass(frozen=True)
class Utterance:
    """One reference utterance with its audio."""

    source: str  # e.g. "fillers/rep#3", "gen-en#1"
    speaker: str
    language: str
    text: str
    audio: np.ndarray
    has_fillers: bool


def call_utterances(name: str, limit: int | None = None) -> list[Utterance]:
    """Ground-truth utterances of a bundled call, cut from each party's track."""
    meta = json.loads((CALLS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    language = meta["language"]
    tracks: dict[str, np.ndarray] = {}
    out = []
    for index, item in enumerate(meta["utterances"][:limit]):
        speaker = item["speaker"]
        if speaker not in tracks:
            tracks[speaker] = load_audio(CALLS_DIR / f"{name}.{speaker}.flac")
        track = tracks[speaker]
        start = max(0, int((item["start"] - MARGIN_S) * SAMPLE_RATE_HZ))
        end = min(len(track), int((item["end"] + MARGIN_S) * SAMPLE_RATE_HZ))
        text = item["text"]
        out.append(
            Utterance(
                f"{name}/{speaker}#{index}",
                speaker,
                language,
                text,
                track[start:end],
                bool(find_fillers(text, language)),
            )
        )
    return out


def generate(texts: tuple[str, ...], language: str, voice: str, workdir: Path) -> list[Utterance]:
    """Speak texts with espeak-ng, resample with sox to 16 kHz mono with 0.2 s margins."""
    out = []
    for index, text in enumerate(texts):
        raw = workdir / f"{language}{index}.raw.wav"
        wav = workdir / f"{language}{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True)
        subprocess.run(
            [
                "sox",
                str(raw),
                "-r",
                str(SAMPLE_RATE_HZ),
                "-c",
                "1",
                "-b",
                "16",
                str(wav),
                "pad",
                str(MARGIN_S),
                str(MARGIN_S),
            ],
            check=True,
        )
        out.append(
            Utterance(f"gen-{language}#{index}", "gen", language, text, load_audio(wav), True)
        )
    return out


def strip_fillers(text: str, language: str) -> list[str]:
    """Tokens of ``text`` without the fillers find_fillers reports (in order)."""
    tokens = tokenize(text)
    fillers = [f.split() for f in find_fillers(text, language)]
    kept: list[str] = []
    index = 0
    for phrase in fillers:
        while index < len(tokens) and tokens[index : index + len(phrase)] != phrase:
            kept.append(tokens[index])
            index += 1
        index += len(phrase)
    kept.extend(tokens[index:])
    return kept


@dataclass
class Tally:
    """Counts for one (model, language, set, condition)."""

    ref: int = 0
    hyp: int = 0
    hit: int = 0
    refs: list[str] | None = None
    hyps: list[str] | None = None
    seconds: float = 0.0
    decodes: int = 0
    empty: int = 0

    def add(self, reference: str, hypothesis: str, language: str) -> None:
        ref_f = Counter(find_fillers(reference, language))
        hyp_f = Counter(find_fillers(hypothesis, language))
        self.ref += sum(ref_f.values())
        self.hyp += sum(hyp_f.values())
        self.hit += sum((ref_f & hyp_f).values())
        self.refs = (self.refs or []) + [" ".join(strip_fillers(reference, language))]
        self.hyps = (self.hyps or []) + [" ".join(strip_fillers(hypothesis, language)) or "<empty>"]
        self.empty += not hypothesis.strip()

    def wer(self) -> float:
        import jiwer

        return float(jiwer.wer(self.refs or [], self.hyps or []))


def run_model(
    model: str, utterances: list[Utterance], show_errors: bool
) -> dict[tuple[str, str, str], Tally]:
    recognizer = Recognizer(model, cpu_threads=2, num_workers=1)
    recognizer.warm_up(1)
    tallies: dict[tuple[str, str, str], Tally] = {}
    # Context = previous no-prompt hypothesis of the same speaker in the same source.
    previous: dict[str, str] = {}
    for utt in utterances:
        group = "filler-rich" if utt.has_fillers else "control"
        stream = utt.source.split("#")[0]
        context = previous.get(stream, "")[-CONTEXT_CHARS:]
        texts = {}
        for condition in CONDITIONS:
            # The primer goes through the engine's own option (as the server would use it).
            recognizer.filler_prompt = condition.startswith("primer")
            prompt = (context or None) if condition in ("context", "primer+ctx") else None
            started = time.perf_counter()
            rec = recognizer.recognize(utt.audio, language=utt.language, final=True, prompt=prompt)
            elapsed = time.perf_counter() - started
            texts[condition] = rec.text
            for key in ((utt.language, group, condition), (utt.language, "all", condition)):
                tally = tallies.setdefault(key, Tally())
                tally.add(utt.text, rec.text, utt.language)
                tally.seconds += elapsed
                tally.decodes += 1
        previous[stream] = texts["none"]
        if show_errors:
            print(f"  [{model}] {utt.source}  REF: {utt.text}")
            for condition in CONDITIONS:
                print(
                    f"      {condition:<11} {find_fillers(texts[condition], utt.language)!s:<40} {texts[condition]}"
                )
    return tallies


def silence_check(model: str) -> list[tuple[str, str, str]]:
    """Primer-prompted finals on silence and noise: (kind, language, text) when not empty."""
    from server.asr.engine import Recognizer as R

    recognizer = R(model, cpu_threads=2, num_workers=1, filler_prompt=True)
    rng = np.random.default_rng(0)
    n3 = 3 * SAMPLE_RATE_HZ
    t = np.arange(n3) / SAMPLE_RATE_HZ
    pink = np.fft.irfft(
        np.fft.rfft(rng.standard_normal(8 * SAMPLE_RATE_HZ))
        / np.sqrt(np.arange(1, 4 * SAMPLE_RATE_HZ + 2))
    )
    signals = {
        "silence 3 s": np.zeros(n3, np.float32),
        "white 3 s 0.03": (0.03 * rng.standard_normal(n3)).astype(np.float32),
        "white 8 s 0.3": (0.3 * rng.standard_normal(8 * SAMPLE_RATE_HZ)).astype(np.float32),
        "pink 8 s 0.3": (0.3 * pink / np.abs(pink).max()).astype(np.float32),
        "hum 3 s 0.3": (0.3 * np.sin(2 * np.pi * 50 * t)).astype(np.float32),
        "room tone -45 dBFS 3 s": (0.0056 * rng.standard_normal(n3)).astype(np.float32),
    }
    languages = ("en",) if not recognizer.multilingual else ("en", "nl")
    produced = []
    total = 0
    for kind, audio in signals.items():
        for language in languages:
            for context in (None, "So that is the plan for next quarter."):
                total += 1
                rec = recognizer.recognize(audio, language=language, final=True, prompt=context)
                if rec.text:
                    produced.append((kind, language, rec.text))
    print(
        f"  {model}: primer on silence/noise: {len(produced)} of {total} decodes produced text {produced or ''}"
    )
    return produced


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--errors", action="store_true", help="print every utterance's decodes")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    workdir = Path(tempfile.mkdtemp(prefix="bench_fillers_"))
    try:
        english = (
            call_utterances("fillers")
            + generate(EXTRA_EN, "en", "en-us+m3", workdir)
            + call_utterances("good", limit=6)
        )
        dutch = generate(EXTRA_NL, "nl", "nl+m3", workdir) + call_utterances("nl_pushy", limit=8)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    for name, utts in (("English", english), ("Dutch", dutch)):
        language = utts[0].language
        n_ref = sum(len(find_fillers(u.text, language)) for u in utts)
        print(
            f"{name}: {len(utts)} utterances, {sum(u.has_fillers for u in utts)} with fillers, {n_ref} fillers in the references"
        )
    print("primers:", json.dumps(FILLER_PRIMER, ensure_ascii=False))
    print()

    rows = []
    for model in models:
        utts = english + (dutch if model != "tiny.en" else [])
        started = time.perf_counter()
        tallies = run_model(model, utts, args.errors)
        print(f"  {model}: {time.perf_counter() - started:.0f} s")
        for (language, group, condition), t in sorted(
            tallies.items(), key=lambda kv: (kv[0][0], kv[0][1], CONDITIONS.index(kv[0][2]))
        ):
            rows.append((model, language, group, condition, t))
        silence_check(model)

    print()
    print(
        "model    lang set          condition    ref  hyp  hit  recall  precision  WER(no fillers)  empty  s/decode"
    )
    for model, language, group, condition, t in rows:
        recall = t.hit / t.ref if t.ref else float("nan")
        precision = t.hit / t.hyp if t.hyp else float("nan")
        print(
            f"{model:<8} {language:<4} {group:<12} {condition:<11} {t.ref:>4} {t.hyp:>4} {t.hit:>4}  {recall:>6.2f}  {precision:>9.2f}  {t.wer():>15.3f}  {t.empty:>5}  {t.seconds / t.decodes:>8.2f}"
        )


if __name__ == "__main__":
    main()
