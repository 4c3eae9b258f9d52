"""Accuracy of the open/closed question classifier on the labelled EN and NL sets.

Run: .venv/bin/python bench/bench_questions.py [--errors]
Prints accuracy, per-class precision/recall/F1 and a confusion matrix per language, on
the text as written and with punctuation and capitals stripped (Whisper-like), plus the
accuracy of the why-flag. --errors lists the misclassified rows.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.core.questions import QuestionKind, analyse_question, tokenize  # noqa: E402

DATA_DIR = ROOT / "tests" / "data"
KINDS = (QuestionKind.OPEN, QuestionKind.CLOSED, QuestionKind.NONE)


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled utterance."""

    text: str
    kind: QuestionKind
    is_why: bool


def load_rows(language: str) -> list[Row]:
    """Reads tests/data/questions_<language>.tsv."""
    path = DATA_DIR / f"questions_{language}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Row(r["text"], QuestionKind(r["label"]), r["why"] == "1") for r in reader]


def strip_punctuation(text: str) -> str:
    """Lowercases and drops punctuation, as a transcript without "?" would read."""
    return " ".join(tokenize(text))


def report(language: str, stripped: bool, show_errors: bool) -> float:
    """Prints the figures for one language and variant; returns the accuracy."""
    rows = load_rows(language)
    confusion: Counter[tuple[QuestionKind, QuestionKind]] = Counter()
    why_correct = 0
    errors: list[tuple[Row, QuestionKind, str]] = []
    started_s = time.perf_counter()
    for row in rows:
        text = strip_punctuation(row.text) if stripped else row.text
        analysis = analyse_question(text, language)
        confusion[(row.kind, analysis.kind)] += 1
        why_correct += analysis.is_why == row.is_why
        if analysis.kind is not row.kind:
            errors.append((row, analysis.kind, analysis.cue))
    elapsed_ms = (time.perf_counter() - started_s) * 1000
    correct = sum(confusion[(k, k)] for k in KINDS)
    accuracy = correct / len(rows)
    variant = "stripped (lowercase, no punctuation)" if stripped else "as written"
    print(
        f"\n== {language.upper()} {variant}: n={len(rows)} "
        f"accuracy={accuracy:.3f} why-flag accuracy={why_correct / len(rows):.3f} "
        f"({elapsed_ms / len(rows):.3f} ms/utterance)"
    )
    print(f"{'class':<8}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}")
    for kind in KINDS:
        true_positive = confusion[(kind, kind)]
        predicted = sum(confusion[(k, kind)] for k in KINDS)
        actual = sum(confusion[(kind, k)] for k in KINDS)
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{kind.value:<8}{precision:>10.3f}{recall:>8.3f}{f1:>7.3f}{actual:>9}")
    print("confusion (rows = label, columns = predicted)")
    print(f"{'':<8}" + "".join(f"{k.value:>8}" for k in KINDS))
    for actual_kind in KINDS:
        cells = "".join(f"{confusion[(actual_kind, p)]:>8}" for p in KINDS)
        print(f"{actual_kind.value:<8}{cells}")
    if show_errors:
        for row, predicted_kind, cue in errors:
            shown = strip_punctuation(row.text) if stripped else row.text
            print(
                f"  label={row.kind.value:<6} got={predicted_kind.value:<6} cue={cue!r:<22} {shown}"
            )
    return accuracy


def main() -> None:
    """Runs the benchmark for EN and NL, with and without punctuation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--errors", action="store_true", help="list misclassified rows")
    args = parser.parse_args()
    summary: list[str] = []
    for language in ("en", "nl"):
        for stripped in (False, True):
            accuracy = report(language, stripped, args.errors)
            summary.append(f"{language} {'stripped' if stripped else 'written '} {accuracy:.3f}")
    print("\nsummary: " + " | ".join(summary))


if __name__ == "__main__":
    main()
