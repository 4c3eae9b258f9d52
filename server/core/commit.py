"""Commit policy for the partial hypotheses of one utterance: LocalAgreement-2 plus a
guard against repetition loops. The final hypothesis replaces everything.

Pure and synchronous: no model, no clock, no I/O.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from models.recognition import Word

T = TypeVar("T")

# A phrase of two or more words said three times in a row is almost always a decoder loop
# ("we can we can we can"); single words need four ("no, no, no" is real speech); a phrase
# of four or more words said twice back to back is a loop too (seen with tiny.en on cut
# audio: "we have a small budget, we have a small budget").
LOOP_MIN_REPEATS_PHRASE = 3
LOOP_MIN_REPEATS_WORD = 4
LOOP_MIN_REPEATS_LONG_PHRASE = 2
LOOP_LONG_PHRASE_WORDS = 4
LOOP_MAX_PHRASE_WORDS = 40
# A hypothesis that ends by starting itself over ("what would need to... what would")
# is cut where the replay starts, when the replay is at least this many words ("we see
# what we see" is speech).
RESTART_MIN_WORDS = 3

_STRIP = string.punctuation + "“”‘’¿¡…"


def word_key(word: str) -> str:
    """Normalise a word for comparison: case and surrounding punctuation ignored."""
    return word.strip().strip(_STRIP).lower()


def collapse_loops(
    items: Sequence[T],
    key: Callable[[T], str],
    *,
    max_phrase_words: int = LOOP_MAX_PHRASE_WORDS,
) -> list[T]:
    """Collapse phrases repeated back to back beyond plausibility to one occurrence.

    Args:
        items: Words (or anything ``key`` maps to a word).
        key: Maps an item to its normalised word.
        max_phrase_words: Longest phrase considered.

    Returns:
        The items with each loop replaced by its first occurrence.
    """
    keys = [key(item) for item in items]
    out: list[T] = []
    out_keys: list[str] = []
    i = 0
    while i < len(items):
        collapsed = False
        for n in range(1, max_phrase_words + 1):
            if n == 1:
                need = LOOP_MIN_REPEATS_WORD
            elif n < LOOP_LONG_PHRASE_WORDS:
                need = LOOP_MIN_REPEATS_PHRASE
            else:
                need = LOOP_MIN_REPEATS_LONG_PHRASE
            if i + n * need > len(items):
                break
            phrase = keys[i : i + n]
            if not any(phrase):
                continue
            repeats = 1
            while keys[i + repeats * n : i + (repeats + 1) * n] == phrase:
                repeats += 1
            if repeats >= need:
                out.extend(items[i : i + n])
                out_keys.extend(phrase)
                i += repeats * n
                collapsed = True
                break
        if not collapsed:
            out.append(items[i])
            out_keys.append(keys[i])
            i += 1
    return out


def trim_restart(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """Cut a hypothesis that ends by replaying its own beginning.

    Args:
        items: Words (or anything ``key`` maps to a word).
        key: Maps an item to its normalised word.

    Returns:
        ``items`` up to where the replay starts, or all of them.
    """
    keys = [key(item) for item in items]
    n = len(keys)
    for start in range(RESTART_MIN_WORDS, n - RESTART_MIN_WORDS + 1):
        tail = keys[start:]
        head = keys[: len(tail)]
        # The replay is cut off with the audio, so its last word may be incomplete.
        if tail[:-1] == head[:-1] and head[-1].startswith(tail[-1]) and any(tail):
            return list(items[:start])
    return list(items)


def clean_hypothesis(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """Apply both loop guards, in the order that removes more.

    Trimming first handles "we have a small, we have a small, we"; collapsing first
    handles "we can we can we can we can".
    """
    trimmed_first = collapse_loops(trim_restart(items, key), key)
    collapsed_first = trim_restart(collapse_loops(items, key), key)
    return min(trimmed_first, collapsed_first, key=len)


def has_loop(items: Sequence[T], key: Callable[[T], str]) -> bool:
    """Tell whether ``clean_hypothesis`` would change ``items``."""
    return len(clean_hypothesis(items, key)) != len(items)


@dataclass(frozen=True, slots=True)
class PartialView:
    """What to show for an utterance in progress.

    Attributes:
        committed: Words agreed by two successive hypotheses; they stay until the final.
        tentative: The rest of the newest hypothesis; may change with the next partial.
    """

    committed: tuple[Word, ...]
    tentative: tuple[Word, ...]

    @property
    def words(self) -> tuple[Word, ...]:
        """Committed then tentative words."""
        return self.committed + self.tentative

    @property
    def text(self) -> str:
        """The words joined by spaces."""
        return " ".join(w.w for w in self.words)


def _key(word: Word) -> str:
    return word_key(word.w)


class SegmentCommitter:
    """LocalAgreement-2 over the successive partial hypotheses of one utterance.

    Every hypothesis covers the whole utterance so far. A word is committed once two
    successive hypotheses agree on it and on everything before it; committed words are
    never withdrawn by a later partial, only replaced by the final. Loops are collapsed
    before agreement, so a looping hypothesis cannot commit its repetitions.

    After ``on_final``, later partials (a late result of an older job) are ignored.
    """

    def __init__(self) -> None:
        self._committed: list[Word] = []
        self._previous_tail: list[Word] = []
        self._final: tuple[Word, ...] | None = None

    @property
    def is_final(self) -> bool:
        """True once the final hypothesis has been applied."""
        return self._final is not None

    @property
    def committed(self) -> tuple[Word, ...]:
        """Words committed so far (all words after the final)."""
        if self._final is not None:
            return self._final
        return tuple(self._committed)

    def on_partial(self, words: Sequence[Word]) -> PartialView | None:
        """Apply a partial hypothesis of the whole utterance so far.

        Args:
            words: The hypothesis, oldest word first.

        Returns:
            The view to show, or None when the utterance is already final (drop the partial).
        """
        if self._final is not None:
            return None
        hypothesis = clean_hypothesis(words, _key)
        tail = hypothesis[self._tail_start(hypothesis) :]
        agreed = 0
        for previous, current in zip(self._previous_tail, tail, strict=False):
            if _key(previous) != _key(current) or not _key(current):
                break
            agreed += 1
        self._committed.extend(tail[:agreed])
        self._previous_tail = tail[agreed:]
        return PartialView(tuple(self._committed), tuple(tail[agreed:]))

    def on_final(self, words: Sequence[Word]) -> tuple[Word, ...]:
        """Apply the final hypothesis; it replaces committed and tentative words.

        Args:
            words: The final hypothesis of the whole utterance.

        Returns:
            The final words, loops collapsed. A second call returns the first final unchanged.
        """
        if self._final is None:
            self._final = tuple(clean_hypothesis(words, _key))
            self._committed = []
            self._previous_tail = []
        return self._final

    def _tail_start(self, hypothesis: Sequence[Word]) -> int:
        """Index in ``hypothesis`` just after the part that corresponds to committed words."""
        n = len(self._committed)
        if n == 0:
            return 0
        committed_keys = [_key(w) for w in self._committed]
        hypothesis_keys = [_key(w) for w in hypothesis]
        if hypothesis_keys[:n] == committed_keys:
            return n
        # The decoder changed its mind about committed words; align on words so that the
        # tentative tail starts after the last committed word it still recognises.
        matcher = difflib.SequenceMatcher(a=committed_keys, b=hypothesis_keys, autojunk=False)
        end = 0
        for block in matcher.get_matching_blocks():
            if block.size:
                end = block.b + block.size
        if end == 0:
            # Nothing matches: fall back to time, keeping words that start after the
            # committed ones end.
            last_end_s = self._committed[-1].end_s
            return next(
                (i for i, w in enumerate(hypothesis) if w.start_s >= last_end_s - 0.05),
                len(hypothesis),
            )
        return end
