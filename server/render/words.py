"""The labels of the report page, the pictures and the terminal report, in English and Dutch.

The scorecard's own texts (criteria, targets, evidence) come translated from the core; these
are the words around them. Pure data.
"""

from __future__ import annotations

from models.scorecard import Verdict

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "report": "Sparring report",
        "practice_call": "Practice call",
        "rep": "rep",
        "customer": "customer",
        "observer": "observer",
        "trainer": "trainer",
        "with": "with",
        "duration": "duration",
        "date": "date",
        "status": "status",
        "session": "session",
        "erased": "This call was erased at a participant's request: nothing it said is kept.",
        "no_recognition": "No transcript, questions or checklist: this server has no {language}"
        " speech recognition. Its operator can add it with: {install}",
        "language_en": "English",
        "language_nl": "Dutch",
        "scorecard": "Scorecard",
        "criterion": "Criterion",
        "measured": "Measured",
        "value_target": "Value · target",
        "own_view": "Own view",
        "peers": "Peers and trainer",
        "moments": "Moments",
        "reflection": "Self-reflection",
        "reflection_given": "given",
        "reflection_skipped": "skipped",
        "reflection_pending": "pending",
        "evaluated_by": "Evaluated by",
        "no_scorecard": "No scorecard yet: the figures of the call follow.",
        "figures": "Figures of the call",
        "talk_share": "Talk share",
        "longest_monologue": "longest monologue",
        "interruptions": "interruptions",
        "overlaps": "overlaps",
        "mean_response_gap": "mean response gap",
        "what_was_said": "What was said",
        "questions": "Questions",
        "open": "open",
        "closed": "closed",
        "per_10_min": "per 10 min",
        "why": "“why”",
        "summaries": "summaries",
        "follow_ups": "follow-up questions",
        "pace": "pace",
        "fillers": "fillers",
        "of_words": "of words",
        "structure": "Structure",
        "opening": "opening",
        "closing_summary": "summary at the close",
        "next_step": "next step",
        "yes": "yes",
        "no": "no",
        "pictures": "The call at a glance",
        "coach_row": "nudges",
        "nudges": "Nudges and whispers",
        "at": "at",
        "kind": "kind",
        "text": "text",
        "nudge": "nudge",
        "whisper": "whisper",
        "whisper_from": "whisper from {}",
        "no_nudges": "No nudges.",
        "transcript": "Transcript",
        "no_transcript": "No transcript was kept (recognition off or not consented).",
        "open_question": "open question",
        "summary": "summary",
        "closed_question": "closed question",
        "tip": "tip",
        "microphones": "Microphones",
        "microphone_of": "{}'s microphone",
        "microphones_note": "Talk time counts each party's own voice only: what a microphone "
        "heard of the other party or of people nearby was left out.",
        "consent_ledger": "Consent ledger",
        "name": "name",
        "role": "role",
        "what": "what",
        "scopes": "scopes",
        "on_behalf": "on behalf of",
        "granted": "granted",
        "withdrew": "withdrew",
        "erase_asked": "withdrew and asked to erase",
        "by": "by",
        "withheld": "Withheld",
        # pictures
        "timeline": "Timeline: who spoke when",
        "timeline_caption": "Bars: speech from the transcript's timing. Black bands: both "
        "spoke at once. Markers: interruptions, questions (open ○, closed ●), nudges (▲), "
        "whispers (◆) and checklist topics covered (✓).",
        "timeline_no_transcript": "No transcript was kept, so the lanes show only the moments "
        "(interruptions, nudges, whispers), not who spoke when.",
        "overlap": "both at once",
        "interruption": "interruption",
        "covered": "covered",
        "talk_over_time": "Talk share over time",
        "talk_caption": "The rep's share of all speech so far, from the transcript's timing; "
        "the dashed line is the playbook's target; the dot is the call's measured share.",
        "talk_no_transcript": "No transcript was kept, so only the call's measured share at "
        "the end is shown against the target.",
        "target": "target: at most {}",
        "at_end": "{} at the end",
        "time": "time (m:ss)",
        "share": "rep's share",
    },
    "nl": {
        "report": "Sparring-rapport",
        "practice_call": "Oefengesprek",
        "rep": "verkoper",
        "customer": "klant",
        "observer": "observator",
        "trainer": "trainer",
        "with": "met",
        "duration": "duur",
        "date": "datum",
        "status": "status",
        "session": "sessie",
        "erased": "Dit gesprek is op verzoek van een deelnemer gewist: er is niets van bewaard.",
        "no_recognition": "Geen transcript, vragen of checklist: deze server heeft geen {language}"
        " spraakherkenning. De beheerder voegt die toe met: {install}",
        "language_en": "Engelse",
        "language_nl": "Nederlandse",
        "scorecard": "Scorekaart",
        "criterion": "Criterium",
        "measured": "Gemeten",
        "value_target": "Waarde · doel",
        "own_view": "Eigen oordeel",
        "peers": "Collega's en trainer",
        "moments": "Momenten",
        "reflection": "Zelfreflectie",
        "reflection_given": "ingevuld",
        "reflection_skipped": "overgeslagen",
        "reflection_pending": "nog niet ingevuld",
        "evaluated_by": "Beoordeeld door",
        "no_scorecard": "Nog geen scorekaart: hieronder de cijfers van het gesprek.",
        "figures": "Cijfers van het gesprek",
        "talk_share": "Spreektijd",
        "longest_monologue": "langste monoloog",
        "interruptions": "onderbrekingen",
        "overlaps": "door elkaar",
        "mean_response_gap": "gemiddelde reactietijd",
        "what_was_said": "Wat er gezegd is",
        "questions": "Vragen",
        "open": "open",
        "closed": "gesloten",
        "per_10_min": "per 10 min",
        "why": "„waarom”",
        "summaries": "samenvattingen",
        "follow_ups": "doorvragen",
        "pace": "tempo",
        "fillers": "stopwoorden",
        "of_words": "van de woorden",
        "structure": "Structuur",
        "opening": "opening",
        "closing_summary": "samenvatting aan het eind",
        "next_step": "vervolgstap",
        "yes": "ja",
        "no": "nee",
        "pictures": "Het gesprek in één oogopslag",
        "coach_row": "tips",
        "nudges": "Tips en fluisteringen",
        "at": "op",
        "kind": "soort",
        "text": "tekst",
        "nudge": "tip",
        "whisper": "fluistering",
        "whisper_from": "gefluisterd door {}",
        "no_nudges": "Geen tips.",
        "transcript": "Transcript",
        "no_transcript": "Er is geen transcript bewaard (herkenning uit of geen toestemming).",
        "open_question": "open vraag",
        "summary": "samenvatting",
        "closed_question": "gesloten vraag",
        "tip": "tip",
        "microphones": "Microfoons",
        "microphone_of": "microfoon van {}",
        "microphones_note": "Spreektijd telt alleen de eigen stem van elke partij: wat een "
        "microfoon van de ander of van mensen in de buurt hoorde, is weggelaten.",
        "consent_ledger": "Toestemmingen",
        "name": "naam",
        "role": "rol",
        "what": "wat",
        "scopes": "voor",
        "on_behalf": "namens",
        "granted": "gegeven",
        "withdrew": "ingetrokken",
        "erase_asked": "ingetrokken met verzoek tot wissen",
        "by": "door",
        "withheld": "Niet getoond",
        "timeline": "Tijdlijn: wie sprak wanneer",
        "timeline_caption": "Balken: spraak volgens de tijden in het transcript. Zwarte "
        "stroken: beiden tegelijk. Tekens: onderbrekingen, vragen (open ○, gesloten ●), tips "
        "(▲), fluisteringen (◆) en besproken onderwerpen (✓).",
        "timeline_no_transcript": "Er is geen transcript bewaard: de banen tonen alleen de "
        "momenten (onderbrekingen, tips, fluisteringen), niet wie wanneer sprak.",
        "overlap": "tegelijk",
        "interruption": "onderbreking",
        "covered": "besproken",
        "talk_over_time": "Spreektijd in de loop van het gesprek",
        "talk_caption": "Het aandeel van de verkoper in alle spraak tot dan toe, volgens de "
        "tijden in het transcript; de stippellijn is het doel uit het playbook; de stip is "
        "het gemeten aandeel.",
        "talk_no_transcript": "Er is geen transcript bewaard: alleen het gemeten aandeel aan "
        "het eind staat tegenover het doel.",
        "target": "doel: hoogstens {}",
        "at_end": "{} aan het eind",
        "time": "tijd (m:ss)",
        "share": "aandeel verkoper",
    },
}

STATUS_WORDS: dict[str, dict[str, str]] = {
    "en": {},
    "nl": {
        "waiting": "wacht",
        "live": "live",
        "paused": "gepauzeerd",
        "ended": "afgelopen",
        "lost": "verbroken",
    },
}

VERDICT_ICONS: dict[Verdict, str] = {"good": "✓", "needs_work": "✗", "not_measured": "–"}
VERDICT_WORDS: dict[str, dict[Verdict, str]] = {
    "en": {"good": "good", "needs_work": "needs work", "not_measured": "not measured"},
    "nl": {"good": "goed", "needs_work": "werkpunt", "not_measured": "niet gemeten"},
}


def language_of(code: str) -> str:
    """The language the labels are in: Dutch for "nl", English otherwise ("auto" too)."""
    return "nl" if code == "nl" else "en"


def status_word(status: str, code: str) -> str:
    """A call's status (`CallStatus`) in the call's language."""
    return STATUS_WORDS[language_of(code)].get(status, status)


def labels(code: str) -> dict[str, str]:
    """The labels for a call's language code."""
    return LABELS[language_of(code)]


def no_recognition(call_language: str, install: str, language: str) -> str:
    """Why a report has no transcript: the server had no recognition for the call's language.

    Args:
        call_language: The call's language code ("nl").
        install: The install that brings it ("pip install 'sparring[nl]'").
        language: The language the words are in ("en" or "nl").
    """
    words = labels(language)
    name = words.get(f"language_{call_language}", call_language)
    return words["no_recognition"].format(language=name, install=install or "—")
