"""LSD (Luisteren, Samenvatten, Doorvragen): summaries and follow-up questions.

Pure text checks on rep utterances in English and Dutch (coaching.md): does the rep
summarise, and does a rep question pick up the customer's own words? No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.core.language import Language, parse_language
from server.core.questions import QuestionKind, classify_question, tokenize

_Phrase = tuple[str, ...]


def _phrases(*texts: str) -> tuple[_Phrase, ...]:
    return tuple(sorted((tuple(t.split()) for t in texts), key=len, reverse=True))


_SUMMARY_CUES = {
    Language.EN: _phrases(
        "if i understand you correctly",
        "if i understand correctly",
        "if i understood you",
        "if i understood correctly",
        "if i understand you right",
        "if i heard you right",
        "if i heard you correctly",
        "if i'm hearing you right",
        "if i'm hearing you correctly",
        "if i hear you correctly",
        "if i hear you right",
        "what i'm hearing is",
        "what i am hearing is",
        "what i hear is",
        "what i'm hearing",
        "what i understand is",
        "what you're saying is",
        "what you are saying is",
        "so you're saying",
        "so you are saying",
        "what you're telling me",
        "to summarize",
        "to summarise",
        "to sum up",
        "to sum it up",
        "in summary",
        "summing up",
        "let me summarize",
        "let me summarise",
        "let me sum up",
        "let me recap",
        "to recap",
        "just to recap",
        "a quick recap",
        "let me play that back",
        "let me just play that back",
        "play that back to you",
        "let me see if i've got this right",
        "let me see if i got this right",
        "let me make sure i understand",
        "just to make sure i got this right",
        "just to make sure i understand",
        "just to make sure i've got this right",
        "in other words",
        "in short",
        "so in short",
    ),
    Language.NL: _phrases(
        "als ik u goed begrijp",
        "als ik je goed begrijp",
        "als ik jullie goed begrijp",
        "als ik het goed begrijp",
        "als ik u goed heb begrepen",
        "als ik het goed heb begrepen",
        "als ik je goed heb begrepen",
        "als ik het goed hoor",
        "als ik u goed hoor",
        "als ik je goed hoor",
        "als ik het goed heb",
        "dus wat u zegt is",
        "wat u zegt is",
        "wat je zegt is",
        "dus u zegt",
        "dus je zegt",
        "u zegt eigenlijk",
        "dus eigenlijk zegt u",
        "eigenlijk zegt u",
        "samengevat",
        "samenvattend",
        "even samenvatten",
        "om samen te vatten",
        "als ik het samenvat",
        "als ik het kort samenvat",
        "kort samengevat",
        "even op een rij",
        "even op een rijtje",
        "op een rijtje",
        "even kijken of ik het goed heb",
        "even checken of ik het goed heb",
        "met andere woorden",
        "kortom",
        "wat ik begrijp is",
        "wat ik hoor is",
        "als ik het even samenvat",
        "ik vat het even samen",
        "ik vat even samen",
    ),
}
_SUMMARY_LEADING_SKIPS = {
    Language.EN: frozenset(
        {
            "so",
            "okay",
            "ok",
            "um",
            "uh",
            "right",
            "alright",
            "well",
            "and",
            "basically",
            "just",
            "yeah",
            "now",
            "then",
            "all",
        }
    ),
    Language.NL: frozenset(
        {
            "dus",
            "oké",
            "oke",
            "ok",
            "eh",
            "ehm",
            "nou",
            "goed",
            "en",
            "ja",
            "even",
            "eigenlijk",
            "dan",
            "prima",
        }
    ),
}

# The cue must open the utterance (after fillers); later in a turn "in short" or
# "samengevat" is more often part of a pitch than a summary of the customer.
SUMMARY_CUE_MAX_START_TOKENS = 2


def is_summary(text: str, language: str) -> bool:
    """Says whether a rep utterance opens as a summary of what the customer said.

    Detects the trained summary openers ("So if I understand you correctly...",
    "Samengevat...", "Dus wat u zegt is..."); a summary without such a cue is missed.

    Args:
        text: One rep utterance.
        language: "en" or "nl".

    Returns:
        True when a summary cue starts the utterance (after fillers such as "so", "dus").

    Raises:
        ValueError: If the language is not supported.
    """
    lang = parse_language(language)
    tokens = tokenize(text)
    skips = _SUMMARY_LEADING_SKIPS[lang]
    start = 0
    while start < len(tokens) and tokens[start] in skips:
        start += 1
    # Cues may themselves begin with a skipped word ("so you're saying", "even
    # samenvatten"), so matching starts at the first token, not after the fillers.
    for offset in range(0, min(start + SUMMARY_CUE_MAX_START_TOKENS + 1, len(tokens))):
        for cue in _SUMMARY_CUES[lang]:
            if tuple(tokens[offset : offset + len(cue)]) == cue:
                return True
    return False


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Result of `follow_up_overlap`.

    Attributes:
        is_follow_up: The rep asked a question that reuses the customer's content words
            (Doorvragen).
        shared_words: The shared content words, normalised, in the rep's order; shown as
            evidence.
        question_kind: Whether the rep utterance is an open, closed or no question.
    """

    is_follow_up: bool
    shared_words: tuple[str, ...]
    question_kind: QuestionKind


# One shared content word is enough: stopwords are removed, so what remains is a topic
# word ("budget", "levering"), and reps often echo just one.
MIN_SHARED_CONTENT_WORDS = 1
# Shorter words are mostly particles or ASR fragments.
MIN_CONTENT_WORD_CHARS = 3

_EN_STOPWORDS = frozenset(
    """
a about above after again against all almost also am an and any anyone anything are around
as at be because been before being below between both but by can can't could couldn't did
didn't do does doesn't doing don't down during each either else even ever every few for from
further get gets getting go goes going gone got had hadn't has hasn't have haven't having he
her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its
itself just know let let's like look lot lots make made many maybe me mean means might more
most much must my myself need needs no nor not now of off okay ok on once one only or other
our ours ourselves out over own really right said same say says see seem she should so some
something sort still such sure tell than that that's the their theirs them themselves then
there there's these they they'd they'll they're they've thing things think this those though
through to too uh um under until up us very want wanted wants was wasn't way we we'd we'll
we're we've well were weren't what what's when where which while who why will with won't
would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves
kind actually basically currently today quite bit little great good thanks thank probably
""".split()
)
_NL_STOPWORDS = frozenset(
    """
aan al alle alles als altijd ander andere ben bent bij binnen daar daarna daarom dan dat de
deze die dit doe doen doet door dus echt een eens eigenlijk en enige er erg even ga gaan gaat
geen gehad geweest goed had hadden heb hebben hebt heeft hem het hier hij hoe hoor hun ik in
is ja je jij jou jullie kan kon kun kunnen kunt laat maar me meer men met mij mijn misschien
moet moeten na naar natuurlijk nee net niet niets nog nou nu of ofzo om omdat onder ons onze
ook op over prima toch toe tot u uit uw van veel voor vrij waar waarom wanneer wat we wel
welk welke wie wij wil wilt worden wordt zal ze zei zeg zegt zelf zich zij zijn zit zitten zo
zoals zou zouden zullen eh ehm oké oke heel gewoon soms vaak weet weten denk denkt vind vindt
graag ding dingen iets iemand zeker precies beetje echt wellicht even keer kijken
""".split()
)
_STOPWORDS = {Language.EN: _EN_STOPWORDS, Language.NL: _NL_STOPWORDS}


def normalise_word(word: str, language: str) -> str:
    """Reduces a word to a rough stem so "budgets" matches "budget", "klanten" "klant".

    Deliberately light: lowercase, no punctuation, English possessive and plural -s/-es/
    -ies, Dutch plural -en/-s/'s and the doubled consonant left by -en ("bakken" ->
    "bak"). Over-stemming two different words together is rare and harmless here.

    Args:
        word: One token.
        language: "en" or "nl".

    Returns:
        The stem, possibly empty for a token without letters.

    Raises:
        ValueError: If the language is not supported.
    """
    lang = parse_language(language)
    tokens = tokenize(word)
    if not tokens:
        return ""
    stem = tokens[0]
    if lang is Language.EN:
        if stem.endswith("'s"):
            stem = stem[:-2]
        if len(stem) > 4 and stem.endswith("ies"):
            return stem[:-3] + "y"
        if len(stem) > 4 and stem.endswith(("sses", "ches", "shes", "xes")):
            return stem[:-2]
        if len(stem) > 3 and stem.endswith("s") and not stem.endswith(("ss", "us", "is")):
            return stem[:-1]
        return stem
    if stem.endswith("'s"):
        return stem[:-2]
    if len(stem) > 5 and stem.endswith("en"):
        stem = stem[:-2]
        if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
            stem = stem[:-1]
        return stem
    if len(stem) > 4 and stem.endswith("s") and stem[-2] in "lmnr" + "eo":
        return stem[:-1]
    return stem


def content_words(text: str, language: str) -> list[str]:
    """Returns the normalised content words of a text, in order, without repeats.

    Args:
        text: Any utterance.
        language: "en" or "nl".

    Returns:
        Stems of the words that are not stopwords and have at least
        `MIN_CONTENT_WORD_CHARS` letters.

    Raises:
        ValueError: If the language is not supported.
    """
    lang = parse_language(language)
    stopwords = _STOPWORDS[lang]
    seen: dict[str, None] = {}
    for token in tokenize(text):
        if token in stopwords or len(token) < MIN_CONTENT_WORD_CHARS or token.isdigit():
            continue
        stem = normalise_word(token, lang)
        if stem and stem not in stopwords and len(stem) >= MIN_CONTENT_WORD_CHARS:
            seen.setdefault(stem, None)
    return list(seen)


def follow_up_overlap(
    rep_text: str, customer_recent_texts: Sequence[str], language: str
) -> FollowUp:
    """Checks whether a rep question builds on what the customer just said (Doorvragen).

    Args:
        rep_text: The rep's utterance.
        customer_recent_texts: The customer's recent utterances (the caller chooses the
            window, e.g. the last customer turn).
        language: "en" or "nl".

    Returns:
        A `FollowUp`; `is_follow_up` needs a question and at least
        `MIN_SHARED_CONTENT_WORDS` shared content words.

    Raises:
        ValueError: If the language is not supported.
    """
    lang = parse_language(language)
    kind = classify_question(rep_text, lang)
    customer_words: set[str] = set()
    for text in customer_recent_texts:
        customer_words.update(content_words(text, lang))
    shared = tuple(word for word in content_words(rep_text, lang) if word in customer_words)
    is_follow_up = kind is not QuestionKind.NONE and len(shared) >= MIN_SHARED_CONTENT_WORDS
    return FollowUp(is_follow_up, shared, kind)
