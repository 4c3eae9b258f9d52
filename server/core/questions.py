"""Open / closed question detection for rep utterances in English and Dutch.

Pure text rules (no model, no I/O) that work on transcripts with or without punctuation
and capitals. It owns the question lexicons; what to nudge is decided in rules.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum


class Language(StrEnum):
    """Languages the text analysers support (coaching.md: English and Dutch)."""

    EN = "en"
    NL = "nl"


def parse_language(language: str) -> Language:
    """Turns a language code into a `Language`.

    Args:
        language: "en" or "nl", any case; a region suffix ("nl-BE", "en_GB") is ignored.

    Returns:
        The matching `Language`.

    Raises:
        ValueError: For any other language, naming the value received.
    """
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    try:
        return Language(code)
    except ValueError:
        raise ValueError(f"language must be one of 'en', 'nl', got {language!r}") from None


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


Phrase = tuple[str, ...]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> tuple[Phrase, ...]:
    """Parses "|"-separated phrases, longest first so "okay so" wins over "okay"."""
    phrases = (tuple(part.split()) for part in text.split("|") if part.strip())
    return tuple(sorted(phrases, key=len, reverse=True))


def _starts_with(tokens: Sequence[str], phrase: Phrase, at: int = 0) -> bool:
    return tuple(tokens[at : at + len(phrase)]) == phrase


def _find_phrase(tokens: Sequence[str], phrases: tuple[Phrase, ...]) -> tuple[int, Phrase] | None:
    for index in range(len(tokens)):
        for phrase in phrases:
            if _starts_with(tokens, phrase, index):
                return index, phrase
    return None


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """Word lists for one language; every set holds lowercase tokens."""

    # Skipped at the start of a clause: fillers, discourse markers, greetings.
    leading_skips: tuple[Phrase, ...]
    # Among the skips, markers that make a following "you ..." a declarative check.
    so_markers: frozenset[str]
    w_words: frozenset[str]
    why_words: frozenset[str]
    # "In what way", "met welke tools": a preposition may precede the W-word.
    prepositions: frozenset[str]
    # A W-word followed by one of these starts a subordinate clause, not a question
    # ("what we do is...", "wat wij doen is...").
    subject_pronouns: frozenset[str]
    second_person: frozenset[str]
    # W-word + one of these is an exclamation ("how nice", "wat fijn", "what a mess").
    exclamation_words: frozenset[str]
    # Whole clauses that look like questions but are idioms or phatic greetings.
    idioms: tuple[Phrase, ...]
    idiom_prefixes: tuple[Phrase, ...]
    phatic: tuple[Phrase, ...]
    # Proposals: "how about thursday", "why don't we", "wat dacht u van".
    proposal_prefixes: tuple[Phrase, ...]
    time_words: frozenset[str]
    imperative_cues: tuple[Phrase, ...]
    indirect_cues: tuple[Phrase, ...]
    # "Can you | kunt u" + telling verb = invitation to tell (functionally open).
    frames: tuple[Phrase, ...]
    telling_words: frozenset[str]
    # Someone else does the telling: "shall I walk you through", "wilt u dat ik".
    offer_markers: tuple[Phrase, ...]
    # "ask what", "know what", "vragen wat": a frame verb that embeds a W-question.
    embedding_verbs: frozenset[str]
    yes_no_complementizers: frozenset[str]
    auxiliaries: frozenset[str]
    # Topic-drop statements after an auxiliary: "will do", "would be great".
    topic_drop_followers: frozenset[str]
    subject_words: frozenset[str]
    # Words that are never a finite verb, for the Dutch inversion test.
    function_words: frozenset[str]
    tags: tuple[Phrase, ...]
    # Tags that count only with a question mark ("..., yeah?", "..., ja?").
    weak_tags: tuple[Phrase, ...]
    # "That's right", "exactly right": the tag word is the statement itself.
    tag_blockers: frozenset[str]
    reported_speech: tuple[Phrase, ...]
    hedges: frozenset[str]
    elliptical_closed: tuple[Phrase, ...]
    elliptical_open: tuple[Phrase, ...]
    choice_words: frozenset[str]
    choice_w_words: frozenset[str]
    # A clause opening with one of these + subject is subordinate; the main clause that
    # follows may invert without being a question ("toen we begonnen, hadden we...").
    subordinators: frozenset[str]
    not_verbs: frozenset[str]
    # Mid-utterance, a W-word or imperative after one of these starts a new clause
    # ("...and who decides", "...so what happened").
    clause_joiners: frozenset[str]
    # Imperative invitations specific enough to spot mid-utterance without punctuation.
    mid_imperative_cues: tuple[Phrase, ...]


_EN = _Lexicon(
    leading_skips=_phrases(
        """
        all right | got it | i mean | i see | okay so | you know | ah | alright | and |
        but | cool | er | erm | great | hello | hey | hi | hm | hmm | like | listen | look |
        mm | mm-hmm | no | now | oh | ok | okay | or | please | right | so | sure | then |
        uh | uhm | um | umm | well | yeah | yep | yes
        """
    ),
    so_markers=_words("so"),
    w_words=_words(
        """
        how how's what what's whats when when's where where's which who who's whom whose why
        """
    ),
    why_words=_words("why"),
    prepositions=_words("about at by for from in of on to under with"),
    subject_pronouns=_words(
        """
        he i i'd i'll i'm i've it it's she there's they they're we we'd we'll we're we've you
        you're
        """
    ),
    second_person=_words("you you'd you'll you're you've your"),
    exclamation_words=_words(
        """
        a amazing an annoying awesome awful brilliant clever cool exciting fantastic frustrating
        fun funny good great impressive interesting kind lovely nice odd sad smart strange
        terrible unfortunate weird wonderful
        """
    ),
    idioms=_phrases(
        """
        what else is new | how about that | how so ever | where was i | who cares |
        who knows | why not
        """
    ),
    idiom_prefixes=_phrases(
        """
        what if i told | what's up with that | tell you what | what's more | whats more |
        who knows
        """
    ),
    phatic=_phrases(
        """
        how are you doing today | how are you doing | how are you today |
        how have you been | how is it going | how are things | how are you |
        how's it going | how's your day
        """
    ),
    proposal_prefixes=_phrases(
        """
        how about we | what about we | why don't we | why dont we | why not
        """
    ),
    time_words=_words(
        """
        afternoon evening friday lunch monday morning next noon saturday sunday this thursday
        today tomorrow tonight tuesday wednesday
        """
    ),
    imperative_cues=_phrases(
        """
        give me a feel | give me a sense | give me an example | give me an idea |
        paint me a picture | talk to me about | fill me in | help me understand |
        help us understand | run me through | take me through | talk me through |
        talk us through | walk me through | walk us through | say more | tell me | tell us |
        describe | elaborate | explain | share
        """
    ),
    indirect_cues=_phrases(
        """
        i would like to know | i would love to hear | i am interested in |
        i want to understand | i'd like to hear | i'd like to know | i'd like to learn |
        i'd like to understand | i'd love to hear | i'd love to know |
        i'd love to understand | curious to hear | curious to know | help me understand |
        i am curious | i was wondering | i'd be curious | i'm interested in | i wonder |
        i'm curious | i'm wondering
        """
    ),
    frames=_phrases(
        """
        could i ask you to | do you happen to know | would you be able to |
        are you able to | can i ask you | can i ask | could i ask | do you know |
        do you mind | may i ask | mind telling me | would you know | would you mind |
        can you | could you | will you | would you
        """
    ),
    telling_words=_words(
        """
        clarify describe describing elaborate elaborating example expand explain explaining more
        outline say share sharing summarise summarize talk tell telling walk walking
        """
    ),
    offer_markers=_phrases(
        """
        can i show | may i show | let me | me to | shall i | should i | show you |
        tell you | walk you | want me
        """
    ),
    embedding_verbs=_words("ask describe explain know share tell"),
    yes_no_complementizers=_words("if whether"),
    auxiliaries=_words(
        """
        am are aren't can can't could couldn't did didn't do does doesn't don't had hadn't has
        hasn't have haven't is isn't may might must mustn't shall should shouldn't was wasn't
        were weren't will won't would wouldn't
        """
    ),
    topic_drop_followers=_words(
        """
        be been certainly complain definitely do get go good great help let make nice not
        probably say see too worry
        """
    ),
    subject_words=_words(
        """
        a all an any anybody anyone anything both either everyone everything he her his i it its
        my our she some someone something that the their there these they this those we you your
        """
    ),
    function_words=frozenset(),
    tags=_phrases(
        """
        did i get that right | have i got that right | am i right | fair to say |
        is that correct | is that fair | is that right | is that so | is that true |
        aren't they | aren't we | aren't you | can't we | can't you | couldn't you |
        didn't it | didn't they | didn't we | didn't you | doesn't he | doesn't it |
        doesn't she | don't they | don't we | don't you | hasn't it | haven't we |
        haven't you | isn't it | isn't that | shouldn't we | wasn't it | weren't they |
        weren't you | won't it | won't you | wouldn't it | wouldn't you | correct | right
        """
    ),
    weak_tags=_phrases(
        """
        or no | or not | eh | huh | no | ok | okay | true | yeah | yes
        """
    ),
    tag_blockers=_words(
        """
        absolutely all alright exactly feel feels get got is it's just looks not perfectly quite
        sounds that that's thats was you you're
        """
    ),
    reported_speech=_phrases(
        """
        you are saying | you told me | you were saying | you mentioned | you said |
        you're saying
        """
    ),
    hedges=_words("actually basically essentially really"),
    elliptical_closed=_phrases(
        """
        any other | any questions | anything else | any | anybody | anyone | anything
        """
    ),
    elliptical_open=_phrases(
        """
        and then | for example | for instance | like what | such as | meaning
        """
    ),
    choice_words=_words("or"),
    choice_w_words=_words("which who whom"),
    subordinators=_words(
        """
        after although as because before however if once since though unless until whatever when
        whenever wherever whichever while
        """
    ),
    not_verbs=frozenset(),
    clause_joiners=_words("and but ok okay right so then"),
    mid_imperative_cues=_phrases(
        """
        tell me a bit more | give me an example | help me understand | take me through |
        talk me through | tell me more | walk me through
        """
    ),
)

# Prepositions, conjunctions, adverbs, interjections, pronouns: never a finite verb.
_NL_FUNCTION_WORDS = _words(
    """
    aan al alleen als altijd bedankt bij boven bovendien daar daarna daarom dag dan dank dat de
    deze die dit door duidelijk dus echt een eerst eh ehm eigenlijk en enfin er erg even fijn
    geen gewoon goed goedemiddag goedemorgen goedenavond graag hallo heel helaas helder het hier
    hij hoe hoeveel hoi hun ik in ja je jij jullie kortom maar meestal met mijn misschien mooi
    morgen na naar nadat natuurlijk nee net niet nog nooit nou nu of oke oké om omdat onder
    ongeveer ons onze ook op over pas perfect precies prima samengevat soms sorry straks tegen
    terwijl toch toen top tot u uit uw vaak van vandaag voor vooral voordat waar waarom
    waarschijnlijk wanneer want wat we wel welk welke wie wij ze zeker zij zo zoals zodat zodra
    zojuist zometeen zonder
    """
)

_NL = _Lexicon(
    leading_skips=_phrases(
        """
        ik snap het | en verder | ja dus | oké dus | weet je | zeg maar | ah | dag | dus |
        eh | ehm | en | goed | hallo | helder | hm | hm-hm | hmm | hoi | interessant | ja |
        maar | mm | mooi | natuurlijk | nee | nou | o | of | oh | ok | okay | oke | oké |
        precies | prima | uh | uhm | zeker
        """
    ),
    so_markers=_words("dus"),
    w_words=_words(
        """
        hoe hoelang hoeveel hoezo vanwaar waar waaraan waardoor waarheen waarin waarmee waarom
        waarop waarover waaruit waarvan waarvoor wanneer wat welk welke wie wiens
        """
    ),
    why_words=_words("waarom"),
    prepositions=_words("aan bij door in met naar om op over tot uit van voor"),
    subject_pronouns=_words("dat het hij ik je jij jullie men u we wij ze zij"),
    second_person=_words("je jij jullie u"),
    exclamation_words=_words(
        """
        bijzonder een erg fantastisch fijn gaaf geweldig goed grappig handig heerlijk
        interessant jammer knap leuk lief mooi naar prachtig raar slim sneu spannend stom
        toevallig vervelend vreemd zonde
        """
    ),
    idioms=_phrases(
        """
        wat zeg je me nou | hoe heet het | waar was ik | waarom ook niet | waarom niet |
        wie weet
        """
    ),
    idiom_prefixes=_phrases(
        """
        waar het om gaat is | hoe het ook zij | hoe dan ook | wat dan ook |
        wat dat betreft | wie weet
        """
    ),
    phatic=_phrases(
        """
        hoe gaat het met je | hoe gaat het met jou | hoe gaat het met u |
        hoe is het met je | hoe is het met u | alles goed met u | hoe is het ermee |
        hoe gaat het | hoe is het | alles goed
        """
    ),
    proposal_prefixes=_phrases(
        """
        wat dacht je van | wat dacht u van | wat vindt u van | hoe klinkt | waarom niet
        """
    ),
    time_words=frozenset(),
    imperative_cues=_phrases(
        """
        geef me een voorbeeld | leg me eens uit | neem me eens mee | geef me eens |
        help me begrijpen | leg eens uit | licht eens toe | neem me mee | neem mij mee |
        neem ons mee | vertel jij eens | vertelt u eens | beschrijft u | geef eens |
        leg eens | leg me | leg ons | leg uit | licht toe | schets eens | vertel daar |
        vertel eens | vertel es | vertel maar | vertel me | vertel ons | beschrijf |
        omschrijf | schets | vertel
        """
    ),
    indirect_cues=_phrases(
        """
        ik zou graag willen weten | ik ben erg benieuwd | ik ben wel benieuwd |
        ik vraag me af | ik vraag mij af | ik wil graag begrijpen | ik wil graag horen |
        ik wil graag snappen | ik wil graag weten | ik zou graag begrijpen |
        ik zou graag weten | ik ben benieuwd | ik ben nieuwsgierig | ik hoor graag |
        ik wil begrijpen | benieuwd naar
        """
    ),
    frames=_phrases(
        """
        mag ik u vragen | kun je me | kunt u mij | mag ik vragen | kan je | kun je |
        kunnen jullie | kunt u | weet je | weet u | weten jullie | wil je | willen jullie |
        wilt u | zou je | zou u | zouden jullie
        """
    ),
    telling_words=_words(
        """
        aangeven beschrijven delen meenemen noemen omschrijven samenvatten schetsen toelichten
        uitleg uitleggen vertel vertellen voorbeeld
        """
    ),
    offer_markers=_phrases("mag ik u laten | dat ik | ik u | laat ik | zal ik"),
    embedding_verbs=_words("uitleggen vertellen vragen weet weten"),
    yes_no_complementizers=_words("of"),
    auxiliaries=_words(
        """
        begrijpt ben bent blijft deed denk denkt doe doen doet ga gaan gaat gebruik gebruiken
        gebruikt ging had hadden heb hebben hebt heeft herkent hoort houdt is kan ken kennen
        kent klopt kom komen komt kon konden krijg krijgen krijgt kun kunnen kunt ligt loopt
        lopen maakt mag merkt mocht moest moet moeten mogen neemt passen past snapt speelt
        spelen staan staat vind vinden vindt voelt waren was weet werken werkt weten wil wilde
        wilden willen wilt worden wordt wou zal zie zien ziet zijn zit zitten zou zouden zullen
        zult
        """
    ),
    topic_drop_followers=frozenset(),
    subject_words=_words(
        """
        alles dat de deze die dit een er het hij hun iedereen iemand iets ik je jij jouw jullie
        men mijn niemand ons onze u uw we wij ze zij zo'n
        """
    ),
    function_words=_NL_FUNCTION_WORDS,
    tags=_phrases(
        """
        heb ik dat goed | zie ik dat goed | is dat juist | is dat zo | is het niet |
        klopt dat | klopt het | of niet | of wel | toch niet | hè | nietwaar | toch
        """
    ),
    weak_tags=_phrases("goed | he | hé | ja | nee | niet | oke | oké"),
    tag_blockers=_words("al dat het is maar nog ook wel"),
    reported_speech=_phrases(
        """
        u gaf aan | je noemde | je vertelde | je zegt | je zei | jij zei | jullie zeiden |
        u noemde | u vertelde | u zegt | u zei
        """
    ),
    hedges=_words("basically eigenlijk feite feitelijk in kortom"),
    elliptical_closed=_phrases(
        """
        nog meer vragen | nog andere | nog iets | nog opmerkingen | nog vragen |
        verder nog
        """
    ),
    elliptical_open=_phrases(
        """
        en toen | hoezo dan | wat dan | zoals wat | bijvoorbeeld | toen | zoals
        """
    ),
    choice_words=_words("of"),
    choice_w_words=_words("welk welke wie"),
    subordinators=_words(
        """
        als hoe hoewel nadat omdat sinds tenzij terwijl toen voordat waar wanneer wat welk welke
        wie zodra zolang
        """
    ),
    not_verbs=_words("kijk laat laten let probeer stel zeg"),
    clause_joiners=_words("dus en maar nou oke oké"),
    mid_imperative_cues=_phrases(
        """
        geef eens een voorbeeld | leg me eens uit | neem me eens mee | leg eens uit |
        neem me mee | vertel daar eens | beschrijf eens | vertel eens
        """
    ),
)

_LEXICONS = {Language.EN: _EN, Language.NL: _NL}

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


def _skip_leading(tokens: Sequence[str], lex: _Lexicon) -> tuple[int, bool]:
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


def _why_after(tokens: Sequence[str], lex: _Lexicon, start: int, span: int = 4) -> bool:
    return any(word in lex.why_words for word in tokens[start : start + span])


def _is_tag_ending(tokens: Sequence[str], lex: _Lexicon, question_mark: bool) -> str:
    phrases = lex.tags + (lex.weak_tags if question_mark else ())
    for phrase in phrases:
        n = len(phrase)
        if len(tokens) > n + 1 and tuple(tokens[-n:]) == phrase:
            if n == 1 and tokens[-2] in lex.tag_blockers:
                continue
            return " ".join(phrase)
    return ""


def _classify_w_start(
    body: Sequence[str], lex: _Lexicon, language: Language, question_mark: bool
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


def _classify_frame(body: Sequence[str], lex: _Lexicon) -> _Decision | None:
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
    body: Sequence[str], lex: _Lexicon, language: Language, question_mark: bool
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
    lex: _Lexicon,
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


def _is_subordinate_start(tokens: Sequence[str], lex: _Lexicon) -> bool:
    start, _ = _skip_leading(tokens, lex)
    body = tokens[start:]
    return (
        len(body) > 1
        and body[0] in lex.subordinators
        and (body[1] in lex.subject_pronouns or body[1] in lex.subject_words)
    )


def _mid_onsets(tokens: Sequence[str], lex: _Lexicon, language: Language) -> list[int]:
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


def _decide_sentence(sentence: _Sentence, lex: _Lexicon, language: Language) -> _Decision | None:
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
    lex = _LEXICONS[lang]
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
