"""Dutch recognition quality of `base` (language forced "nl"), and what its errors do to
the open/closed question classifier.

Material:
  - the bundled Dutch calls client/calls/nl_good, nl_pushy, nl_closed (espeak-ng voices):
    each ground-truth utterance cut from its party's track (start/end +- 0.2 s), final
    decode (beam 5), against the utterance's `text`;
  - optionally real Dutch read speech: a directory of <name>.wav + <name>.txt (reference
    text), e.g. the nl/ folder of the shared audio set (--clips DIR).

Each utterance gets as prompt the previous recognised utterance of the same speaker (last
200 characters), as server/core/session.py does (--no-context to turn it off). Every
figure is given with the engine's filler primer off and on (--filler-prompt).

WER: jiwer corpus WER on lowercased words without punctuation (server/core/questions
tokenize), per call and party, per set, and the mean of per-utterance WERs. Questions:
classify_question(reference) vs classify_question(hypothesis) for the rep utterances.

Usage:
  .venv/bin/python bench/bench_dutch.py --clips ../shared/audio/nl [--errors]
  .venv/bin/python bench/bench_dutch.py --filler-prompt off      # one condition only
"""

# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audio_io import load_audio  # noqa: E402

from server.asr.engine import Recognizer  # noqa: E402
from server.asr.jobs import SAMPLE_RATE_HZ  # noqa: E402
from server.core.questions import QuestionKind, classify_question, tokenize  # noqa: E402

CALLS_DIR = ROOT / "client" / "calls"
CALLS = ("nl_good", "nl_pushy", "nl_closed")
MARGIN_S = 0.2
CONTEXT_CHARS = 200


@dataclass(frozen=True)
class Item:
    """One utterance to recognise."""

    group: str  # "nl_good/rep", "clips"
    name: str
    speaker: str
    text: str
    audio: np.ndarray


def call_items(name: str) -> list[Item]:
    meta = json.loads((CALLS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    tracks: dict[str, np.ndarray] = {}
    items = []
    for index, utt in enumerate(meta["utterances"]):
        speaker = utt["speaker"]
        if speaker not in tracks:
            tracks[speaker] = load_audio(CALLS_DIR / f"{name}.{speaker}.flac")
        track = tracks[speaker]
        start = max(0, int((utt["start"] - MARGIN_S) * SAMPLE_RATE_HZ))
        end = min(len(track), int((utt["end"] + MARGIN_S) * SAMPLE_RATE_HZ))
        items.append(
            Item(f"{name}/{speaker}", f"{name}#{index}", speaker, utt["text"], track[start:end])
        )
    return items


def clip_items(directory: Path) -> list[Item]:
    items = []
    for wav in sorted(directory.glob("*.wav")):
        txt = wav.with_suffix(".txt")
        if txt.is_file():
            text = txt.read_text(encoding="utf-8").strip()
            items.append(Item("clips", wav.stem, wav.stem, text, load_audio(wav)))
    return items


def words(text: str) -> str:
    return " ".join(tokenize(text))


def corpus_wer(refs: list[str], hyps: list[str]) -> float:
    import jiwer

    return float(jiwer.wer([words(r) for r in refs], [words(h) or "<empty>" for h in hyps]))


def utt_wer(ref: str, hyp: str) -> float:
    import jiwer

    return float(jiwer.wer(words(ref), words(hyp) or "<empty>"))


def recognise_all(
    recognizer: Recognizer, items: list[Item], context: bool
) -> tuple[list[str], float]:
    previous: dict[str, str] = {}
    hyps = []
    started = time.perf_counter()
    for item in items:
        prompt = previous.get(item.group, "")[-CONTEXT_CHARS:] if context else ""
        rec = recognizer.recognize(item.audio, language="nl", final=True, prompt=prompt or None)
        hyps.append(rec.text)
        if item.group != "clips":
            previous[item.group] = rec.text
    return hyps, time.perf_counter() - started


def report(label: str, items: list[Item], hyps: list[str], show_errors: bool) -> None:
    print(f"\n== {label}")
    groups = list(dict.fromkeys(i.group for i in items))
    print(f"{'set':<20} {'utts':>4} {'words':>5} {'WER':>6} {'meanWER':>8} {'perfect':>8}")

    def line(name: str, sel: list[int]) -> None:
        refs = [items[i].text for i in sel]
        hs = [hyps[i] for i in sel]
        per = [utt_wer(r, h) for r, h in zip(refs, hs, strict=True)]
        n_words = sum(len(tokenize(r)) for r in refs)
        perfect = sum(p == 0 for p in per)
        print(
            f"{name:<20} {len(sel):>4} {n_words:>5} {corpus_wer(refs, hs):>6.3f} {np.mean(per):>8.3f} {perfect:>4}/{len(sel):<3}"
        )

    for group in groups:
        line(group, [i for i, it in enumerate(items) if it.group == group])
    calls = [i for i, it in enumerate(items) if it.group != "clips"]
    if calls:
        line("calls: rep", [i for i in calls if items[i].speaker == "rep"])
        line("calls: customer", [i for i in calls if items[i].speaker == "customer"])
        line("calls: all", calls)

    # Questions: rep utterances of the calls.
    confusion: Counter[tuple[QuestionKind, QuestionKind]] = Counter()
    flips = []
    for i in calls:
        if items[i].speaker != "rep":
            continue
        ref_kind = classify_question(items[i].text, "nl")
        hyp_kind = classify_question(hyps[i], "nl")
        confusion[(ref_kind, hyp_kind)] += 1
        if ref_kind != hyp_kind:
            flips.append((items[i].name, ref_kind.value, hyp_kind.value, items[i].text, hyps[i]))
    total = sum(confusion.values())
    if total:
        agree = total - len(flips)
        print(
            f"\nquestion kind on recognised vs reference text (rep utterances): {agree}/{total} agree ({agree / total:.1%})"
        )
        kinds = (QuestionKind.OPEN, QuestionKind.CLOSED, QuestionKind.NONE)
        print("  ref \\ hyp   " + "".join(f"{k.value:>8}" for k in kinds))
        for r in kinds:
            print(f"  {r.value:<11} " + "".join(f"{confusion[(r, h)]:>8}" for h in kinds))
        for name, r, h, ref, hyp in flips:
            print(f"  flip {name}: {r} -> {h}\n      REF: {ref}\n      HYP: {hyp}")

    if show_errors:
        print()
        for item, hyp in zip(items, hyps, strict=True):
            w = utt_wer(item.text, hyp)
            if w > 0:
                print(f"  {item.name:<28} WER {w:.2f}\n      REF: {item.text}\n      HYP: {hyp}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="base")
    parser.add_argument(
        "--clips", type=Path, help="directory of <name>.wav + <name>.txt Dutch clips"
    )
    parser.add_argument("--filler-prompt", choices=("off", "on", "both"), default="both")
    parser.add_argument("--no-context", action="store_true", help="no previous-utterance prompt")
    parser.add_argument("--errors", action="store_true", help="print every utterance with errors")
    args = parser.parse_args()

    items = [it for name in CALLS for it in call_items(name)]
    if args.clips:
        clips = clip_items(args.clips)
        if not clips:
            parser.error(f"no <name>.wav with <name>.txt in {args.clips}")
        items += clips
    recognizer = Recognizer(args.model, cpu_threads=2, num_workers=1)
    recognizer.warm_up(1)
    print(
        f"model {args.model}, language forced nl, beam {recognizer.beam_size_final}, "
        f"context prompt {'off' if args.no_context else 'on'}, {len(items)} utterances, "
        f"{sum(len(i.audio) for i in items) / SAMPLE_RATE_HZ:.0f} s of audio"
    )
    conditions = ("off", "on") if args.filler_prompt == "both" else (args.filler_prompt,)
    for condition in conditions:
        recognizer.filler_prompt = condition == "on"
        hyps, seconds = recognise_all(recognizer, items, not args.no_context)
        report(
            f"filler primer {condition} ({seconds:.0f} s, {seconds / len(items):.2f} s/utterance)",
            items,
            hyps,
            args.errors,
        )


if __name__ == "__main__":
    main()
