"""What each microphone is good for: a plain verdict from what attribution heard on it.

Pure. Fed `MicStats` of the last 20 s at each check; says whether the microphone leaks the
other party, carries another conversation or noise, or is too quiet, and whether talk-time
figures can rest on it. The texts are what the participant page shows, in English and Dutch.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.wire import Role
from server.core.attribution import MicStats

# Verdicts need at least 1 s of speech frames in the window, and each problem 2 s of it.
MIN_SPEECH_FRAMES = 33
MIN_PROBLEM_FRAMES = 67
# A problem is named when it is a fifth of what the VAD called speech on that microphone.
PROBLEM_SHARE = 0.2
# Voice over the noise between words (dB): under 15 the noise is worth a word; under 8 the
# VAD and the level rules cannot tell voice from noise, and talk time is not measurable.
NOISY_SNR_DB = 15.0
UNRELIABLE_SNR_DB = 8.0
# Where a microphone is heard speaking through at least half of the other party's speech
# while its quietest moments are within `UNRELIABLE_SNR_DB` of the voice, it carries
# something nearly as loud as the voice nearly all the time (babble, loud noise the VAD calls
# speech): people do not talk over each other that much, and talk time is not measurable.
# Once said, it holds until the share is under half of that.
TALK_OVER_SHARE = 0.5
# A voice under -50 dBFS (RMS) is too soft to measure well: the microphone is far or muted.
QUIET_DBFS = -50.0

_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    # issue -> language -> (to the party concerned, to everyone else)
    "ok": {
        "en": ("Your microphone sounds fine again", "The {who}'s microphone sounds fine again"),
        "nl": ("Je microfoon klinkt weer goed", "De microfoon van de {who} klinkt weer goed"),
    },
    "leak": {
        "en": (
            "Your microphone also hears the {other} — use a headset or move apart",
            "The {who}'s microphone also hears the {other}: a headset or more distance helps",
        ),
        "nl": (
            "Je microfoon hoort ook de {other} — gebruik een headset of ga verder uit elkaar zitten",
            "De microfoon van de {who} hoort ook de {other}: een headset of meer afstand helpt",
        ),
    },
    "background": {
        "en": (
            "Your microphone picks up other people talking nearby — a quieter spot or a headset helps",
            "The {who}'s microphone picks up other people talking nearby",
        ),
        "nl": (
            "Je microfoon vangt andere gesprekken op — een rustiger plek of een headset helpt",
            "De microfoon van de {who} vangt andere gesprekken op",
        ),
    },
    "noise": {
        "en": (
            "There is a lot of noise on your microphone",
            "There is a lot of noise on the {who}'s microphone",
        ),
        "nl": ("Er is veel ruis op je microfoon", "Er is veel ruis op de microfoon van de {who}"),
    },
    "quiet": {
        "en": (
            "Your voice comes through very softly — move closer to the microphone",
            "The {who}'s voice comes through very softly",
        ),
        "nl": (
            "Je stem komt erg zacht door — ga dichter bij de microfoon",
            "De stem van de {who} komt erg zacht door",
        ),
    },
}
_UNRELIABLE = {
    "en": " — talk-time figures are paused until it is better",
    "nl": " — de spreektijdcijfers staan stil tot het beter gaat",
}
_ROLE_NAMES = {
    "en": {Role.REP: "rep", Role.CUSTOMER: "customer"},
    "nl": {Role.REP: "verkoper", Role.CUSTOMER: "klant"},
}


@dataclass(frozen=True, slots=True)
class Verdict:
    issue: str  # ok | leak | noise | background | quiet (AudioCheck.issue)
    reliable: bool


def _drowned(stats: MicStats, talk_over_share: float) -> bool:
    """Whether the party's voice cannot be told from what the microphone carries besides."""
    return (
        stats.voice_dbfs is not None
        and stats.talk_over_share is not None
        and stats.talk_over_share >= talk_over_share
        and stats.voice_dbfs - stats.quiet_dbfs < UNRELIABLE_SNR_DB
    )


def verdict(stats: MicStats, previous: Verdict | None) -> Verdict | None:
    """The verdict for one microphone now; None when there is too little speech to tell."""
    if stats.speech_frames < MIN_SPEECH_FRAMES:
        return previous
    snr_db = None if stats.voice_dbfs is None else stats.voice_dbfs - stats.floor_dbfs
    if snr_db is not None and snr_db < UNRELIABLE_SNR_DB:
        return Verdict("noise", reliable=False)
    was_unreliable = previous is not None and not previous.reliable
    if _drowned(stats, TALK_OVER_SHARE / 2 if was_unreliable else TALK_OVER_SHARE):
        return Verdict("noise", reliable=False)
    threshold = max(MIN_PROBLEM_FRAMES, PROBLEM_SHARE * stats.speech_frames)
    # A problem once named stays named until it is clearly gone (half the threshold): a
    # shared room does not stop leaking because one party was quiet for a while.
    was = previous.issue if previous is not None else "ok"
    for issue, frames in (("leak", stats.leak_frames), ("background", stats.background_frames)):
        if frames >= (threshold / 2 if was == issue else threshold):
            return Verdict(issue, reliable=True)
    if snr_db is not None and snr_db < NOISY_SNR_DB:
        return Verdict("noise", reliable=True)
    if stats.voice_dbfs is not None and stats.voice_dbfs < QUIET_DBFS:
        return Verdict("quiet", reliable=True)
    return Verdict("ok", reliable=True)


def text(v: Verdict, about: Role, to_self: bool, language: str) -> str:
    """The plain words for verdict `v` on `about`'s microphone, for them or for others."""
    language = "nl" if language == "nl" else "en"
    names = _ROLE_NAMES[language]
    other = Role.CUSTOMER if about is Role.REP else Role.REP
    words = _TEXTS[v.issue][language][0 if to_self else 1]
    words = words.format(who=names[about], other=names[other])
    return words if v.reliable else words + _UNRELIABLE[language]
