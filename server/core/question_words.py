"""English and Dutch word and phrase lists (lexicons) read by the question classifier."""

from __future__ import annotations

from dataclasses import dataclass

from server.core.language import Language

Phrase = tuple[str, ...]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> tuple[Phrase, ...]:
    """Parses "|"-separated phrases, longest first so "okay so" wins over "okay"."""
    phrases = (tuple(part.split()) for part in text.split("|") if part.strip())
    return tuple(sorted(phrases, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class Lexicon:
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


_EN = Lexicon(
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

_NL = Lexicon(
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

LEXICONS: dict[Language, Lexicon] = {Language.EN: _EN, Language.NL: _NL}
