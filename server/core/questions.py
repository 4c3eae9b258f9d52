"""Open / closed question detection for rep utterances in English and Dutch.

Pure text rules (no model, no I/O) that work on transcripts with or without punctuation
and capitals. The word lists live in question_words.py; what to nudge is decided in
rules.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

# Re-exported: callers import the language helpers from here too.
from server.core.language import Language as Language
from server.core.language import parse_language as parse_language
from server.core.question_words import LEXICONS, Lexicon, Phrase


class QuestionKind(Enum):
    """What a rep utterance asks of the customer."""

    OPEN = "open"
    CLOSED = "closed"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class QuestionAnalysis:
    """Result of `analyse_question`.

    Attributes:
        kind: Open, closed or no question.
        is_why: The chosen question asks "why"/"waarom", which can sound like blame; the
            tip is "What led to..." / "Hoe komt het dat...".
        cue: The words that decided the kind (e.g. "what", "tell me", ", right", "?"),
            lowercased; empty for NONE. Shown as evidence with a nudge.
        clause: The lowercased words of the question the decision came from; empty for
            NONE.
    """

    kind: QuestionKind
    is_why: bool
    cue: str
    clause: str


_NO_QUESTION = QuestionAnalysis(QuestionKind.NONE, False, "", "")

# Tokens: words with inner apostrophes or hyphens ("what's", "zo'n", "mm-hmm").
_WORD_RE = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
# Sentence ends. A dot between digits ("1.5") is not one.
_SENTENCE_END_RE = re.compile(r"(?<!\d)[.!?;:…]+|[.!?]+(?!\d)")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def tokenize(text: str) -> list[str]:
    """Splits text into lowercase word tokens, dropping punctuation.

    Args:
        text: Any transcript text.

    Returns:
        The words, lowercased, with curly apostrophes made straight.
    """
    return _WORD_RE.findall(text.translate(_APOSTROPHES).lower())


@dataclass(frozen=True, slots=True)
class _Sentence:
    tokens: tuple[str, ...]
    # Token indexes that follow a comma; questions often start there ("Sure, is ...").
    comma_starts: tuple[int, ...]
    has_question_mark: bool


def _split_sentences(text: str) -> list[_Sentence]:
    text = text.translate(_APOSTROPHES).lower()
    sentences: list[_Sentence] = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        _append_sentence(sentences, text[start : match.start()], "?" in match.group())
        start = match.end()
    _append_sentence(sentences, text[start:], False)
    return sentences


def _append_sentence(sentences: list[_Sentence], chunk: str, has_question_mark: bool) -> None:
    tokens: list[str] = []
    comma_starts: list[int] = []
    for part_index, part in enumerate(chunk.split(",")):
        if part_index > 0:
            comma_starts.append(len(tokens))
        tokens.extend(_WORD_RE.findall(part))
    if tokens:
        sentences.append(_Sentence(tuple(tokens), tuple(comma_starts), has_question_mark))


def _starts_with(tokens: Sequence[str], phrase: Phrase, at: int = 0) -> bool:
    return tuple(tokens[at : at + len(phrase)]) == phrase


def _find_phrase(tokens: Sequence[str], phrases: tuple[Phrase, ...]) -> tuple[int, Phrase] | None:
    for index in range(len(tokens)):
        for phrase in phrases:
            if _starts_with(tokens, phrase, index):
                return index, phrase
    return None


_NL_PERSONAL_SUBJECTS = frozenset(
    {"ik", "wij", "we", "u", "jij", "je", "jullie", "ze", "zij", "hij"}
)
_FIRST_PERSON = frozenset({"ik", "we", "wij", "i"})

# A Dutch word ending like a finite or plural verb ("brandt", "paste", "mogen") followed
# by a subject is read as verb-first; a short closed word list cannot hold every verb.
_NL_VERB_ENDINGS = ("t", "en", "te", "de")
# Short verb-first fragments without "?" are topic-drop statements ("doen we", "snap ik",
# "kan ik regelen"); questions are longer or carry a question mark.
_TOPIC_DROP_MAX_TOKENS = 3
# Dutch puts the telling verb last ("kunt u daar iets meer over vertellen").
_FRAME_WINDOW_TOKENS = 8
# Verbless fragments up to this length with "or" are choices ("the blue one or the red one").
_CHOICE_FRAGMENT_MAX_TOKENS = 8


@dataclass(frozen=True, slots=True)
class _Decision:
    kind: QuestionKind
    cue: str
    clause: tuple[str, ...]
    is_why: bool = False


def _skip_leading(tokens: Sequence[str], lex: Lexicon) -> tuple[int, bool]:
    """Returns the index after leading fillers and whether a so/dus marker was skipped."""
    index = 0
    so_marker = False
    progressed = True
    while progressed and index < len(tokens):
        progressed = False
        for phrase in lex.leading_skips:
            if _starts_with(tokens, phrase, index):
                so_marker = so_marker or any(word in lex.so_markers for word in phrase)
                index += len(phrase)
                progressed = True
                break
    return index, so_marker


def _why_after(tokens: Sequence[str], lex: Lexicon, start: int, span: int = 4) -> bool:
    return any(word in lex.why_words for word in tokens[start : start + span])


def _is_tag_ending(tokens: Sequence[str], lex: Lexicon, question_mark: bool) -> str:
    phrases = lex.tags + (lex.weak_tags if question_mark else ())
    for phrase in phrases:
        n = len(phrase)
        if len(tokens) > n + 1 and tuple(tokens[-n:]) == phrase:
            if n == 1 and tokens[-2] in lex.tag_blockers:
                continue
            return " ".join(phrase)
    return ""


def _classify_w_start(
    body: Sequence[str], lex: Lexicon, language: Language, question_mark: bool
) -> _Decision | None:
    """Classifies a clause that starts with a W-word (after an optional preposition)."""
    offset = 1 if (len(body) > 1 and body[0] in lex.prepositions and body[1] in lex.w_words) else 0
    w_word = body[offset]
    rest = body[offset + 1 :]
    cue = " ".join(body[: offset + 1])
    if not rest:
        return _Decision(QuestionKind.OPEN, cue, tuple(body), w_word in lex.why_words)
    following = rest[0]
    exclamative = following in lex.exclamation_words and (
        w_word in {"how", "hoe", "wat"} or following in {"a", "an"}
    )
    if exclamative:
        # "How nice", "wat fijn" vs "how long", "hoe groot".
        if not (question_mark and following not in {"a", "an", "een"} and len(rest) > 2):
            return None
    if following in lex.subject_pronouns and not (
        language is Language.EN and w_word == "how" and following == "come"
    ):
        # Subordinate clause: "what we do is...", "when you sign up...", "wat u wilt".
        # Dutch "wat is het" / "waarom dat" keep the verb before the pronoun instead.
        if not (language is Language.NL and following in {"dat", "het"} and question_mark):
            return None
    if (
        language is Language.NL
        and w_word in {"welk", "welke", "hoeveel"}
        and len(rest) > 1
        and rest[1] in _NL_PERSONAL_SUBJECTS
        and rest[0] not in lex.auxiliaries
        and not (w_word == "hoeveel" and rest[0].endswith("t"))
    ):
        return None  # "Welk pakket u ook kiest", "welke dag u uitkomt": no inversion.
    if (
        language is Language.EN
        and w_word == "which"
        and not question_mark
        and following
        in {
            "is",
            "was",
            "means",
            "brings",
            "makes",
            "explains",
            "would",
            "leads",
            "gives",
        }
    ):
        return None  # "Which is exactly why...": a relative clause.
    if w_word in lex.choice_w_words and any(word in lex.choice_words for word in rest[1:]):
        return _Decision(QuestionKind.CLOSED, f"{w_word} ... or", tuple(body))
    return _Decision(QuestionKind.OPEN, cue, tuple(body), w_word in lex.why_words)


def _classify_frame(body: Sequence[str], lex: Lexicon) -> _Decision | None:
    """'Can you tell me how...', 'Do you know what...', 'Kunt u vertellen hoe...'.

    A yes/no frame around a telling verb or an embedded W-question invites the customer
    to tell (functionally open); one around "if"/"whether"/"of" still asks yes/no.
    """
    for phrase in lex.frames:
        if not _starts_with(body, phrase):
            continue
        rest = body[len(phrase) :]
        if _find_phrase(rest, lex.offer_markers) is not None:
            return None  # "Do you want me to describe...", "Wilt u dat ik...": an offer.
        frame = " ".join(phrase)
        # "do you know", "mag ik vragen", "weet u": the frame verb embeds the question.
        embeds = any(word in lex.embedding_verbs for word in phrase)
        told = ""
        for index, word in enumerate(rest[:_FRAME_WINDOW_TOKENS]):
            if word in lex.yes_no_complementizers and (embeds or told):
                return _Decision(QuestionKind.CLOSED, f"{frame} ... {word}", tuple(body))
            if word in lex.w_words and (embeds or told):
                return _Decision(
                    QuestionKind.OPEN, f"{frame} ... {word}", tuple(body), word in lex.why_words
                )
            if word in lex.telling_words and not told:
                if word == "say" and rest[index + 1 : index + 2] != ("more",):
                    continue  # "Would you say it's..." asks for agreement.
                told = word
        if told:
            return _Decision(
                QuestionKind.OPEN, f"{frame} ... {told}", tuple(body), _why_after(rest, lex, 0, 8)
            )
    return None


def _classify_verb_first(
    body: Sequence[str], lex: Lexicon, language: Language, question_mark: bool
) -> _Decision | None:
    first = body[0]
    second = body[1] if len(body) > 1 else ""
    if language is Language.EN:
        if first not in lex.auxiliaries:
            return None
        if not second:
            return None
        if second in lex.topic_drop_followers or second in lex.w_words:
            return None  # "Will do", "would be great", "is what it is".
        if first in {"have", "had"} and second in {"a", "an", "fun", "nice", "good"}:
            return None  # "Have a great weekend."
        if first == "do" and second not in lex.subject_words:
            return None  # Emphatic "do let me know".
        return _Decision(QuestionKind.CLOSED, first, tuple(body))
    if first in lex.not_verbs or first in lex.function_words:
        return None
    window = body[1:4]
    has_subject = any(word in lex.subject_words for word in window)
    is_verb = (
        first in lex.auxiliaries
        or (second in lex.subject_words and first.endswith(_NL_VERB_ENDINGS))
        or second in lex.second_person
    )
    if not is_verb:
        return None
    if not has_subject:
        if question_mark and first in lex.auxiliaries:
            return _Decision(QuestionKind.CLOSED, first, tuple(body))
        return None  # "Komt goed", "is prima", "komt in orde".
    if not question_mark and len(body) <= _TOPIC_DROP_MAX_TOKENS and second in _FIRST_PERSON:
        return None  # "Doen we", "snap ik", "kan ik regelen"; but "klopt dat" asks.
    return _Decision(QuestionKind.CLOSED, f"{first} {second}".strip(), tuple(body))


def _classify_clause(
    tokens: Sequence[str],
    lex: Lexicon,
    language: Language,
    question_mark: bool,
    is_sentence_start: bool,
) -> _Decision | None:
    """Classifies one clause from its start; None when it asks nothing."""
    start, so_marker = _skip_leading(tokens, lex)
    body = tuple(tokens[start:])
    if not body:
        if question_mark and tokens:
            return _Decision(QuestionKind.CLOSED, tokens[-1], tuple(tokens))
        return None
    if body in lex.idioms or any(_starts_with(body, p) for p in lex.idiom_prefixes):
        return None
    if body in lex.phatic or (body[:-1] in lex.phatic and body[-1] in {"today", "vandaag"}):
        return None
    for phrase in lex.proposal_prefixes:
        if _starts_with(body, phrase) and len(body) > len(phrase):
            return _Decision(QuestionKind.CLOSED, " ".join(phrase), body)
    if (
        body[0] in {"how", "what"}
        and len(body) > 2
        and body[1] == "about"
        and (body[2] in lex.time_words)
    ):
        return _Decision(QuestionKind.CLOSED, f"{body[0]} about", body)
    if body[:2] == ("how", "about"):
        return _Decision(QuestionKind.CLOSED, "how about", body)
    for phrase in lex.imperative_cues:
        if _starts_with(body, phrase):
            rest = body[len(phrase) :]
            if language is Language.NL and rest[:1] and rest[0] in {"ik", "we", "wij"}:
                continue  # "Vertel ik u zo": inverted statement, not an imperative.
            return _Decision(
                QuestionKind.OPEN, " ".join(phrase), body, _why_after(rest, lex, 0, span=6)
            )
    found = _find_phrase(body, lex.indirect_cues)
    if found is not None:
        index, phrase = found
        rest = body[index + len(phrase) :]
        for position, word in enumerate(rest[:4]):
            if word in lex.yes_no_complementizers:
                return _Decision(QuestionKind.CLOSED, f"{' '.join(phrase)} {word}", body)
            curious = any(w in {"curious", "benieuwd", "nieuwsgierig"} for w in phrase)
            if word in lex.w_words or (curious and position == 0 and word in {"about", "naar"}):
                return _Decision(
                    QuestionKind.OPEN, f"{' '.join(phrase)} {word}", body, word in lex.why_words
                )
    framed = _classify_frame(body, lex)
    if framed is not None:
        return framed
    if body[0] in lex.w_words or (
        len(body) > 1 and body[0] in lex.prepositions and body[1] in lex.w_words
    ):
        return _classify_w_start(body, lex, language, question_mark)
    for phrase in lex.elliptical_open:
        if body == phrase or (question_mark and _starts_with(body, phrase)):
            return _Decision(QuestionKind.OPEN, " ".join(phrase), body)
    for phrase in lex.elliptical_closed:
        if _starts_with(body, phrase) and (question_mark or len(body) > len(phrase)):
            return _Decision(QuestionKind.CLOSED, " ".join(phrase), body)
    verb_first = _classify_verb_first(body, lex, language, question_mark)
    if verb_first is not None:
        return verb_first
    tag = _is_tag_ending(body, lex, question_mark)
    if tag:
        return _Decision(QuestionKind.CLOSED, f", {tag}", body)
    for phrase in lex.reported_speech:
        if _starts_with(body, phrase) and len(body) > len(phrase):
            return _Decision(QuestionKind.CLOSED, " ".join(phrase), body)
    if so_marker and is_sentence_start:
        words = body[1:] if body[0] in lex.hedges else body
        if words and (
            words[0] in lex.second_person
            or (
                language is Language.NL
                and len(words) > 1
                and words[1] in lex.second_person
                and words[0] not in lex.function_words
            )
        ):
            return _Decision(QuestionKind.CLOSED, f"{tokens[0]} {words[0]} ...", body)
    if (
        is_sentence_start
        and len(body) <= _CHOICE_FRAGMENT_MAX_TOKENS
        and any(w in lex.choice_words for w in body[1:-1])
    ):
        has_verb = any(w in lex.auxiliaries for w in body)
        if not has_verb:
            return _Decision(QuestionKind.CLOSED, "... or ...", body)
    if question_mark and is_sentence_start:
        return _Decision(QuestionKind.CLOSED, "?", body)
    return None


def _is_subordinate_start(tokens: Sequence[str], lex: Lexicon) -> bool:
    start, _ = _skip_leading(tokens, lex)
    body = tokens[start:]
    return (
        len(body) > 1
        and body[0] in lex.subordinators
        and (body[1] in lex.subject_pronouns or body[1] in lex.subject_words)
    )


def _mid_onsets(tokens: Sequence[str], lex: Lexicon, language: Language) -> list[int]:
    """Indexes inside an unpunctuated run where a question plausibly starts.

    Only inverted word order counts (W-word + auxiliary + subject, auxiliary + subject):
    embedded clauses ("let me explain how the pricing works") do not invert.
    """
    onsets: list[int] = []
    blocked_inversion = _is_subordinate_start(tokens, lex)
    for index in range(1, len(tokens) - 1):
        word = tokens[index]
        previous = tokens[index - 1]
        after = tokens[index + 1 :]
        if previous in lex.clause_joiners and (
            word in lex.w_words or any(_starts_with(tokens, p, index) for p in lex.imperative_cues)
        ):
            onsets.append(index)
            continue
        if (
            previous not in lex.subject_words | lex.auxiliaries | lex.clause_joiners
            and previous not in {"to", "can", "will", "i'll", "we'll", "ik", "te", "even"}
            and any(_starts_with(tokens, p, index) for p in lex.mid_imperative_cues)
        ):
            onsets.append(index)  # "that's interesting tell me more"
            continue
        if word in lex.w_words and previous not in lex.prepositions:
            if language is Language.EN:
                for skip in range(0, 3):
                    if (
                        len(after) > skip + 1
                        and after[skip] in lex.auxiliaries
                        and (after[skip + 1] in lex.subject_words)
                    ):
                        onsets.append(index)
                        break
                    if skip < len(after) and after[skip] in lex.auxiliaries:
                        break
            else:
                for skip in range(0, 2):
                    verb = after[skip] if skip < len(after) else ""
                    if (
                        len(after) > skip + 1
                        and (
                            verb in lex.auxiliaries
                            or (skip == 0 and verb.endswith(_NL_VERB_ENDINGS))
                        )
                        and verb not in lex.function_words
                        and (after[skip + 1] in lex.subject_words)
                    ):
                        onsets.append(index)
                        break
            continue
        if len(after) < 2:
            continue
        if language is Language.EN:
            if (
                word in lex.auxiliaries
                and after[0] in {"you", "we", "they", "there", "your", "i", "it", "that"}
                and previous not in lex.subject_words | lex.w_words | {"to", "and", "which", "who"}
                and not (word in {"is", "was", "are"} and after[0] in {"that", "it", "there"})
                and not (after[0] == "that" and after[1] in lex.subject_pronouns)
            ):
                onsets.append(index)
        else:
            if blocked_inversion or previous in lex.function_words:
                continue
            if word in lex.not_verbs or word in lex.function_words:
                continue
            if after[0] in lex.second_person and (
                word in lex.auxiliaries or word.endswith(_NL_VERB_ENDINGS)
            ):
                onsets.append(index)
            elif word in lex.auxiliaries and after[0] in {"dat", "het", "er", "ze", "we"}:
                onsets.append(index)
    return onsets


def _decide_sentence(sentence: _Sentence, lex: Lexicon, language: Language) -> _Decision | None:
    tokens = sentence.tokens
    decisions: list[_Decision] = []
    first = _classify_clause(tokens, lex, language, sentence.has_question_mark, True)
    if first is not None:
        decisions.append(first)
    subordinate = _is_subordinate_start(tokens, lex)
    for comma_start in sentence.comma_starts:
        if subordinate and language is Language.NL:
            break  # "Wanneer u zich aanmeldt, krijgt u...": main clause inverts.
        decision = _classify_clause(tokens[comma_start:], lex, language, False, False)
        if decision is not None:
            decisions.append(decision)
    for onset in _mid_onsets(tokens, lex, language):
        decision = _classify_clause(tokens[onset:], lex, language, False, False)
        if decision is not None:
            decisions.append(decision)
    if not decisions:
        return None
    for decision in decisions:
        if decision.kind is QuestionKind.OPEN:
            return decision
    return decisions[0]


def analyse_question(text: str, language: str) -> QuestionAnalysis:
    """Finds the question a rep utterance asks and whether it is open or closed.

    An utterance with several questions counts as OPEN if any is open (the rep invited
    the customer to talk), else CLOSED if any is closed; the first such question is the
    one reported. Works without punctuation or capitals (Whisper may drop the "?"), at
    the cost of declarative questions, which only a "?" or a tag gives away.

    Args:
        text: One rep utterance, possibly several sentences.
        language: "en" or "nl".

    Returns:
        The analysis; `QuestionKind.NONE` with empty cue and clause for statements.

    Raises:
        ValueError: If the language is not supported.
    """
    lang = parse_language(language)
    lex = LEXICONS[lang]
    chosen: _Decision | None = None
    for sentence in _split_sentences(text):
        decision = _decide_sentence(sentence, lex, lang)
        if decision is None:
            continue
        if decision.kind is QuestionKind.OPEN:
            chosen = decision
            break
        if chosen is None:
            chosen = decision
    if chosen is None:
        return _NO_QUESTION
    is_why = chosen.kind is QuestionKind.OPEN and chosen.is_why
    return QuestionAnalysis(chosen.kind, is_why, chosen.cue, " ".join(chosen.clause))


def classify_question(text: str, language: str) -> QuestionKind:
    """Says whether a rep utterance asks an open question, a closed one, or none.

    Args:
        text: One rep utterance.
        language: "en" or "nl".

    Returns:
        The kind of the utterance's question (see `analyse_question` for the rules).

    Raises:
        ValueError: If the language is not supported.
    """
    return analyse_question(text, language).kind
