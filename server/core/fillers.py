"""Filler words ("um", "you know", "eh", "zeg maar") in rep speech, English and Dutch.

Pure counting on words; whether a cluster deserves a nudge is decided in rules.py
(coaching.md: single fillers are noise, clusters matter). Whisper tends to drop fillers,
so counts from its transcripts are a lower bound.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from server.core.language import Language, parse_language
from server.core.questions import tokenize

_Phrase = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _FillerLexicon:
    # Always fillers, whatever surrounds them.
    plain: tuple[_Phrase, ...]
    # Fillers except in the contexts checked by `_is_filler_in_context`.
    contextual: tuple[_Phrase, ...]


def _phrases(*texts: str) -> tuple[_Phrase, ...]:
    return tuple(sorted((tuple(t.split()) for t in texts), key=len, reverse=True))


_EN = _FillerLexicon(
    plain=_phrases("um", "umm", "uh", "uhh", "uhm", "erm", "er", "ehm", "hmm"),
    contextual=_phrases("you know", "i mean", "sort of", "kind of", "like"),
)
_NL = _FillerLexicon(
    plain=_phrases(
        "eh",
        "ehm",
        "ehh",
        "uh",
        "uhm",
        "uhh",
        "hmm",
        "nou",
        "zeg maar",
        "eigenlijk",
        "dus ja",
        "zo van",
    ),
    contextual=_phrases("weet je"),
)
_LEXICONS = {Language.EN: _EN, Language.NL: _NL}

EN_FILLERS: tuple[str, ...] = tuple(" ".join(p) for p in _EN.plain + _EN.contextual)
"""Every English filler the counter knows, for display and for Whisper prompts."""
NL_FILLERS: tuple[str, ...] = tuple(" ".join(p) for p in _NL.plain + _NL.contextual)
"""Every Dutch filler the counter knows, for display and for Whisper prompts."""

# "I like", "would like", "looks like", "something like": "like" as verb or preposition.
_LIKE_NOT_FILLER_BEFORE = frozenset(
    {
        "i",
        "you",
        "we",
        "they",
        "he",
        "she",
        "would",
        "i'd",
        "you'd",
        "we'd",
        "they'd",
        "don't",
        "didn't",
        "doesn't",
        "do",
        "does",
        "did",
        "to",
        "really",
        "also",
        "might",
        "will",
        "look",
        "looks",
        "looked",
        "sound",
        "sounds",
        "sounded",
        "feel",
        "feels",
        "felt",
        "seem",
        "seems",
        "something",
        "anything",
        "nothing",
        "more",
        "much",
        "exactly",
        "just",
        "things",
        "stuff",
        "not",
        "people",
        "customers",
        "clients",
        "teams",
        "companies",
        "would've",
        "who",
        "which",
        "that",
        "what",
        "is",
        "be",
    }
)
# "What kind of", "a sort of": the noun use.
_KIND_NOT_FILLER_BEFORE = frozenset(
    {
        "what",
        "a",
        "this",
        "that",
        "which",
        "any",
        "some",
        "the",
        "one",
        "every",
        "same",
        "different",
        "all",
        "these",
        "those",
        "our",
        "your",
        "their",
        "my",
        "its",
        "another",
    }
)
_YOU_KNOW_NOT_FILLER_BEFORE = frozenset(
    {
        "do",
        "did",
        "don't",
        "does",
        "would",
        "will",
        "if",
        "as",
        "since",
        "didn't",
        "to",
        "let",
        "should",
        "could",
        "can",
        "might",
    }
)
_EMBEDDED_QUESTION_WORDS = frozenset(
    {
        "what",
        "how",
        "why",
        "where",
        "when",
        "who",
        "which",
        "whether",
        "if",
        "wat",
        "hoe",
        "waarom",
        "waar",
        "wanneer",
        "wie",
        "welke",
        "of",
        "nog",
        "dat",
    }
)
_WORD_CLEAN_RE = re.compile(r"[^\w'-]+")


def _is_filler_in_context(phrase: _Phrase, before: str, after: str) -> bool:
    """Keeps the heuristics for words that are fillers only in some positions.

    "like" counts only where it cannot be a verb or a comparison: not after a subject,
    an auxiliary, "to" or a verb of perception ("I like it", "looks like", "something
    like"). This misses some fillers, which is the cheaper error: a wrong nudge costs
    trust (coaching.md).
    """
    if phrase == ("like",):
        return before not in _LIKE_NOT_FILLER_BEFORE
    if phrase in {("kind", "of"), ("sort", "of")}:
        return before not in _KIND_NOT_FILLER_BEFORE
    if phrase == ("you", "know"):
        return before not in _YOU_KNOW_NOT_FILLER_BEFORE and after not in _EMBEDDED_QUESTION_WORDS
    if phrase == ("i", "mean"):
        return before not in {"what", "that", "which"} and after not in {"it", "that"}
    if phrase == ("weet", "je"):
        return before not in {"dat", "of", "wat"} and after not in _EMBEDDED_QUESTION_WORDS
    return True


def _match_fillers(tokens: Sequence[str], lexicon: _FillerLexicon) -> list[str]:
    found: list[str] = []
    index = 0
    while index < len(tokens):
        matched: _Phrase | None = None
        for phrase in lexicon.plain + lexicon.contextual:
            if tuple(tokens[index : index + len(phrase)]) != phrase:
                continue
            if phrase in lexicon.contextual:
                before = tokens[index - 1] if index > 0 else ""
                end = index + len(phrase)
                after = tokens[end] if end < len(tokens) else ""
                if not _is_filler_in_context(phrase, before, after):
                    continue
            if matched is None or len(phrase) > len(matched):
                matched = phrase
        if matched is None:
            index += 1
        else:
            found.append(" ".join(matched))
            index += len(matched)
    return found


def count_fillers(words: Sequence[str], language: str) -> int:
    """Counts filler words and phrases in a sequence of words.

    Args:
        words: The words in order, e.g. from ASR word timestamps; case and punctuation
            attached to a word are ignored.
        language: "en" or "nl".

    Returns:
        The number of fillers; a multi-word filler ("you know") counts once.

    Raises:
        ValueError: If the language is not supported.
    """
    lexicon = _LEXICONS[parse_language(language)]
    tokens = [cleaned for word in words if (cleaned := _clean_word(word))]
    return len(_match_fillers(tokens, lexicon))


def find_fillers(text: str, language: str) -> list[str]:
    """Lists the fillers in a text, in order of appearance.

    Args:
        text: A transcript segment.
        language: "en" or "nl".

    Returns:
        The fillers as lowercase phrases, one entry per occurrence.

    Raises:
        ValueError: If the language is not supported.
    """
    lexicon = _LEXICONS[parse_language(language)]
    return _match_fillers(tokenize(text), lexicon)


def _clean_word(word: str) -> str:
    return _WORD_CLEAN_RE.sub("", word.replace("’", "'").lower()).strip("'-")
