#!/usr/bin/env python3
"""Build the bundled two-party practice-call fixtures in client/calls/.

Each call is a scripted dialogue: a list of utterances (speaker rep|customer, text,
timing). Every utterance is synthesised with espeak-ng (one voice per party),
resampled with sox to 16 kHz mono PCM16 and trimmed of leading/trailing silence
(sox ``silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse``). The trimmed
extent is the ground-truth interval. Utterances are placed in the party's own
track (digital silence elsewhere), written as

    client/calls/<name>.rep.flac       16 kHz mono PCM16, same length as ...
    client/calls/<name>.customer.flac
    client/calls/<name>.json           ground truth

espeak-ng puts 300-400 ms pauses at sentence ends, which would split one
utterance into several speech runs. So an utterance is synthesised sentence by
sentence, each sentence trimmed, and the sentences joined with a fixed
SENTENCE_GAP_S (0.2 s). Pauses inside a sentence (commas) are checked: the script
fails if one is longer than MAX_INTERNAL_PAUSE_S.

Timing of an utterance (relative to the previous utterance in the list):
    gap=g       start g s after the previous utterance ends (default: the call's
                gap range, drawn from a fixed-seed RNG)
    at=t        start at absolute time t
    into=d      start d s after the previous utterance *starts* (interruptions)
    cut_prev=c  the previous utterance (the interrupted one) stops c s after this
                one starts: its audio is cut there with a 30 ms fade, as a
                customer trails off when talked over

Text in {braces} marks a filler word: the braces are dropped for synthesis and
the filler is listed in the ground truth.

After writing, every track is checked with webrtcvad (30 ms frames, modes 2 and
3, non-speech runs shorter than 300 ms between speech frames bridged) against
the ground-truth speech time and talk share; the figures are printed.

sox runs with -D -R (no dither, repeatable), so the output is byte-identical
from run to run. Speech is placed at LEVEL_DB (-9 dB: peaks about -10 dBFS,
RMS about -30 dBFS), which also keeps the FLAC files smaller.

No noise floor is added: silence is digital zero. A -60 dBFS noise floor costs
about 14 KB/s per track in FLAC, which would roughly double the fixture size;
pass --noise-dbfs -60 to add one anyway (seeded, reproducible).

Usage: .venv/bin/python scripts/make_calls.py [--only NAME ...] [--noise-dbfs DB]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import webrtcvad

RATE = 16000
SENTENCE_GAP_S = 0.20
MAX_INTERNAL_PAUSE_S = 0.28
LEAD_IN_S = 0.5
TAIL_S = 1.0
FADE_S = 0.03
TRIM_ABS = int(0.005 * 32768)  # same threshold as sox "0.5%"
MONOLOGUE_BRIDGE_S = 1.5  # playbook: rep pauses < 1.5 s do not break a monologue
INTERRUPT_MIN_OVERLAP_S = 0.5
INTERRUPT_MIN_REP_S = 1.0
VAD_BRIDGE_S = 0.30
LEVEL_DB = -9.0  # espeak peaks near -2 dBFS; -9 dB gives peaks ~-11 dBFS, RMS ~-30 dBFS, smaller FLAC

OUT_DIR = Path(__file__).resolve().parent.parent / "client" / "calls"

OPEN_WORDS = {
    "en": ("what", "how", "why", "which", "who", "where", "when", "tell", "describe"),
    "nl": ("wat", "hoe", "waarom", "welke", "wie", "waar", "wanneer", "vertel", "beschrijf"),
}
SUMMARY_PREFIXES = (
    "so if i understand you correctly",
    "what i'm hearing is",
    "als ik u goed begrijp",
    "dus wat u zegt is",
    "samengevat",
)


@dataclass
class U:
    speaker: str
    text: str
    gap: float | None = None
    at: float | None = None
    into: float | None = None
    cut_prev: float | None = None


@dataclass
class Call:
    name: str
    language: str
    voices: dict
    speeds: dict
    gap_range: tuple
    notes: str
    dialogue: list = field(default_factory=list)
    report_wpm: bool = False  # add rep_word_count / rep_wpm to the ground truth (the pace calls)


# ---------------------------------------------------------------------------
# Dialogues
# ---------------------------------------------------------------------------

def good_en() -> Call:
    d = [
        U("rep", "Hi Sarah, thanks for making time today.", at=LEAD_IN_S),
        U("customer", "Sure, that sounds good. We are a team of twelve account managers, and we cover the Benelux and the United Kingdom."),
        U("rep", "What does your current process look like when a new lead comes in?"),
        U("customer", "Honestly, it's a bit messy. Leads arrive by email and through the website form. "
                      "Someone copies them into a shared spreadsheet every morning, and then the team lead assigns them by hand. "
                      "On a busy day that takes her most of the morning."),
        U("rep", "How do you handle follow ups after the first contact?"),
        U("customer", "Each account manager keeps their own notes. Some use the calendar, and some use sticky notes. "
                      "We lose track of maybe one in five leads, and we only notice at the end of the quarter, when the numbers look thin."),
        U("rep", "Tell me more about the end of the quarter."),
        U("customer", "It gets stressful. My manager asks why the pipeline is empty, and we spend two days digging through inboxes to rebuild it. "
                      "Last quarter we found eight leads that nobody had called back. Two of them had already signed with a competitor."),
        U("rep", "What would a good week look like for you?"),
        U("customer", "A good week is when every lead gets a reply within a day, and I can see the whole pipeline on one screen. "
                      "And I would like our team lead to get her mornings back."),
        U("rep", "So if I understand you correctly, leads come in through several channels. Assignment is manual "
                 "and about one in five leads gets lost."),
        U("customer", "Yes, that's exactly it. The quarter end is the worst part."),
        U("rep", "Who else would be involved in choosing a solution?"),
        U("customer", "My manager, Tom, signs off on anything over five thousand euros. "
                      "And our IT colleague would need to check the email integration."),
        U("rep", "How would you like to continue from here?"),
        U("customer", "Could you send me a short overview? Then I'll set up a call with Tom and IT for next week."),
        U("rep", "I'll send it today. Thanks, this was helpful."),
        U("customer", "Thanks, talk to you next week."),
    ]
    return Call("good", "en", {"rep": "en-us+m3", "customer": "en-gb+f3"}, {"rep": 120, "customer": 150}, (0.6, 1.2),
                "Discovery call done well: open questions, one summary, no interruptions "
                "(every turn starts 0.6-1.2 s after the other party stops), short rep turns.", d, report_wpm=True)


PUSHY_MONO_EN = [
    "Let me tell you exactly what we do, because I think you are going to love this.",
    "Our platform replaces every spreadsheet you have with one clean dashboard. Every lead, every email and every call goes into one place automatically.",
    "You don't have to train anyone, it just works from day one. We have over two thousand customers in Europe, and every single one of them saw results in the first month.",
    "One of our customers, a retailer just like you, doubled their pipeline in six weeks. Another one cut their admin time in half.",
    "And the best part is the automation. When a lead comes in, the system assigns it, sends a welcome email and books a follow up call in the calendar. Nobody has to lift a finger.",
    "We also have a mobile app, reporting, forecasting, and integrations with more than three hundred tools. Email, calendar, telephony, accounting, you name it, we connect to it.",
    "Now, normally this costs ninety nine euros per user per month. But if you sign this week, I can give you twenty percent off for the whole first year, and we will do the setup for free.",
    "That offer really ends on Friday, and I honestly don't know if I can get it approved again next month. My manager was very clear about that.",
    "I have seen so many teams wait and regret it, because every week without a system is a week of lost deals. You told me yourself you are losing leads, and this fixes that today.",
    "So what I would suggest is that we get the paperwork going right now. I'll send you the contract, you sign it, and we can have your whole team live by next Monday.",
]


def pushy_en() -> Call:
    d = [
        U("rep", "Hi, this is Mike from Sales Rocket. Do you have two minutes? Great.", at=LEAD_IN_S),
        U("customer", "Well, I am actually in between meetings, but I suppose I have a minute if it's quick.", gap=0.5),
        U("rep", "Perfect. Do you use a CRM today?", gap=0.3),
        U("customer", "We use spreadsheets mostly. We tried a CRM system about two years ago, but the team never really adopted it, and in the end we went back to what we knew.", gap=0.6),
        U("rep", "Spreadsheets, right, so you are losing deals every single day, and our platform fixes that instantly.", into=2.2, cut_prev=1.4),
        U("customer", "I'm not sure that's really the issue for us.", gap=0.4),
        U("rep", "Do you have a budget for this quarter?", gap=0.3),
        U("customer", "We do have some budget, but most of it is tied up in the new website project, at least until the summer, and after that we need to review everything.", gap=0.6),
        U("rep", "Great, so you have budget. Is that a yes to a demo?", into=2.4, cut_prev=1.4),
        U("customer", "I didn't say that.", gap=0.5),
        U("rep", "Are you the one who decides on software?", gap=0.3),
        U("customer", "Partly. My manager has the final say.", gap=0.6),
        U("rep", "Is your manager happy with the results right now? Would he want more deals?", gap=0.3),
        U("customer", "I suppose so.", gap=0.7),
        U("rep", "Have you heard of Sales Rocket before?", gap=0.3),
        U("customer", "I don't think so.", gap=0.6),
        U("rep", "Do you have more than ten people in sales?", gap=0.3),
        U("customer", "Twelve, at the moment.", gap=0.6),
        U("rep", "Are they hitting their targets every month?", gap=0.3),
        U("customer", "Not every month, no. It depends on the season.", gap=0.6),
        U("rep", "Would you like them to? Of course you would.", gap=0.3),
        U("customer", "Well, who wouldn't?", gap=0.6),
    ]
    for i, t in enumerate(PUSHY_MONO_EN):
        d.append(U("rep", t, gap=0.4 if i else 0.5))
    d += [
        U("rep", "Can we sign you up today?", gap=0.4),
        U("customer", "No. I really need to talk to my manager first.", gap=0.6),
        U("rep", "Is your manager available this afternoon? Can I send the contract now? Is that a yes?", gap=0.3),
        U("customer", "Please just send me an email.", gap=0.6),
        U("rep", "Will do. Can I call you back tomorrow at nine? Can I put you down for a demo on Thursday as well? Great, I'll pencil it in.", gap=0.3),
        U("customer", "I haven't agreed to anything yet.", gap=0.5),
        U("rep", "Of course, of course. Talk to you tomorrow at nine then.", gap=0.3),
    ]
    return Call("pushy", "en", {"rep": "en-us+m3", "customer": "en-gb+f3"}, {"rep": 200, "customer": 170}, (0.3, 0.6),
                "Pushy pitch: closed questions only, two interruptions in the first 40 s (the customer trails off "
                "about 1.4 s after the rep starts), one long rep monologue starting around 60 s.", d)


def good_nl() -> Call:
    d = [
        U("rep", "Goedemorgen mevrouw Jansen. Fijn dat u tijd heeft.", at=LEAD_IN_S),
        U("customer", "Goedemorgen. Ja hoor, we hebben een half uur. We zijn een groothandel in kantoorartikelen, met zes mensen op de binnendienst."),
        U("rep", "Hoe ziet uw huidige proces eruit als er een bestelling binnenkomt?"),
        U("customer", "De meeste bestellingen komen per mail binnen. Iemand typt ze over in ons oude systeem, en daarna controleren we de voorraad met de hand. "
                      "Meestal gaat dat goed, maar op drukke dagen maken we fouten."),
        U("rep", "Wat voor fouten zijn dat dan?"),
        U("customer", "Verkeerde aantallen, of een artikel dat niet meer op voorraad is. Dan moeten we de klant terugbellen, en dat kost ons elke week een paar uur. "
                      "Soms raken we daardoor ook een klant kwijt."),
        U("rep", "Vertel eens, wat merkt u daarvan bij uw klanten?"),
        U("customer", "Ze worden ongeduldig. Vorige maand is een grote klant naar een concurrent gegaan, omdat zijn bestelling twee keer verkeerd was geleverd. "
                      "Dat was echt een klap voor ons."),
        U("rep", "Als ik u goed begrijp komen bestellingen per mail binnen. U typt ze met de hand over en kosten de fouten u tijd en zelfs klanten."),
        U("customer", "Ja, dat klopt precies. Vooral dat overtypen is het probleem, daar gaat de meeste tijd in zitten."),
        U("rep", "Wie beslist er bij u over een nieuw systeem?"),
        U("customer", "Dat doe ik samen met onze directeur. Hij wil wel eerst zien wat het kost, en hoe lang de invoering duurt."),
        U("rep", "Hoe wilt u verder?"),
        U("customer", "Stuur me een voorstel, dan plannen we volgende week een gesprek met de directeur erbij."),
        U("rep", "Dat doe ik vandaag nog. Dank u wel voor het open gesprek."),
        U("customer", "Graag gedaan, tot volgende week."),
    ]
    return Call("nl_good", "nl", {"rep": "nl+m3", "customer": "nl+f3"}, {"rep": 120, "customer": 150}, (0.6, 1.2),
                "Dutch discovery call done well: open W-questions, one summary (Als ik u goed begrijp), "
                "no interruptions, short rep turns.", d, report_wpm=True)


PUSHY_MONO_NL = [
    "Laat me u precies vertellen wat wij doen, want ik weet zeker dat u dit geweldig gaat vinden.",
    "Ons platform vervangt al uw Excel lijsten door een overzichtelijk dashboard. Elke klant, elke mail en elk telefoontje komt automatisch op een plek terecht.",
    "U hoeft niemand te trainen, het werkt vanaf de eerste dag. We hebben meer dan tweeduizend klanten in Nederland en Belgie, en ze zagen allemaal binnen een maand resultaat.",
    "Een van onze klanten, een groothandel net als u, heeft zijn omzet in zes weken verdubbeld. Een ander heeft zijn administratie met de helft teruggebracht.",
    "En het mooiste is de automatisering. Als er een bestelling binnenkomt, verwerkt het systeem die meteen, stuurt een bevestiging en plant de levering in. Niemand hoeft er iets voor te doen.",
    "Normaal kost dit negenennegentig euro per gebruiker per maand. Maar als u deze week tekent, krijgt u het hele eerste jaar twintig procent korting, en doen wij de installatie gratis.",
    "Die aanbieding loopt echt vrijdag af, en ik weet niet of ik hem volgende maand nog een keer rond krijg.",
    "Ik heb zoveel bedrijven zien wachten en daar spijt van zien krijgen, want elke week zonder systeem is een week met fouten. U zei zelf dat u klanten kwijtraakt, en dit lost dat vandaag op.",
    "Dus mijn voorstel is dat we het papierwerk nu meteen regelen. Ik stuur u het contract, u tekent, en dan is uw hele team maandag live.",
]


def pushy_nl() -> Call:
    d = [
        U("rep", "Goedemiddag, u spreekt met Kevin van Verkoop Pro. Heeft u twee minuutjes? Mooi.", at=LEAD_IN_S),
        U("customer", "Nou, ik zit eigenlijk midden in een overleg, maar als het kort is, dan kan het wel even.", gap=0.5),
        U("rep", "Prima. Gebruikt u al een CRM systeem?", gap=0.3),
        U("customer", "We werken vooral met Excel. We hebben twee jaar geleden wel iets anders geprobeerd, maar het team heeft dat eigenlijk nooit echt gebruikt.", gap=0.6),
        U("rep", "Excel, precies, dan verliest u elke dag klanten, en dat lossen wij direct voor u op.", into=2.2, cut_prev=1.4),
        U("customer", "Ik weet niet of dat voor ons het probleem is.", gap=0.4),
        U("rep", "Heeft u budget voor dit kwartaal?", gap=0.3),
        U("customer", "Er is wel wat budget, maar dat zit nu vast in het nieuwe website project, in ieder geval tot de zomer, en daarna kijken we verder.", gap=0.6),
        U("rep", "Dus u heeft budget. Zullen we dan meteen een demo inplannen?", into=2.4, cut_prev=1.4),
        U("customer", "Dat heb ik niet gezegd.", gap=0.5),
    ]
    for i, t in enumerate(PUSHY_MONO_NL):
        d.append(U("rep", t, gap=0.4 if i else 0.5))
    d += [
        U("rep", "Kunt u dat vandaag beslissen?", gap=0.4),
        U("customer", "Nee, dat moet ik echt eerst met mijn directeur bespreken.", gap=0.6),
        U("rep", "Mag ik het contract alvast sturen?", gap=0.3),
        U("customer", "Stuurt u maar een mail.", gap=0.6),
        U("rep", "Doe ik. Mag ik u morgen om negen uur terugbellen? Top, tot morgen.", gap=0.3),
    ]
    return Call("nl_pushy", "nl", {"rep": "nl+m3", "customer": "nl+f3"}, {"rep": 200, "customer": 165}, (0.3, 0.6),
                "Dutch pushy pitch: closed questions only, two interruptions in the first 40 s (the customer trails off "
                "about 1.4 s after the rep starts), one long rep monologue.", d)


def fillers_en() -> Call:
    d = [
        U("rep", "{So, um,} thanks for joining. {Uh,} I wanted to, {you know,} walk you through the new plan.", at=LEAD_IN_S),
        U("rep", "{Um,} basically it's, {like,} a lot faster than the old one. {Uh,} and it's, {um,} cheaper too.", gap=0.7),
        U("rep", "I would like to show you the dashboard. It's, {you know,} {like,} really simple.", gap=0.8),
        U("customer", "Okay, go ahead.", gap=0.8),
        U("rep", "{So, um,} here you see your leads. {Uh,} each one has, {like,} a score.", gap=0.8),
        U("rep", "{Uh,} the reports are, {um,} on the next page. {So, um,} let me, {uh,} find them.", gap=0.9),
        U("customer", "Take your time.", gap=0.8),
        U("rep", "Right. {Um,} here they are. {Uh,} you can, {like,} export them, {you know,} to Excel.", gap=0.8),
    ]
    return Call("fillers", "en", {"rep": "en-us+m3", "customer": "en-gb+f3"}, {"rep": 160, "customer": 170}, (0.6, 1.0),
                "Rep-heavy walkthrough full of filler words ({braced} in the script): um, uh, you know, like, so um. "
                "'I would like to' contains a non-filler 'like'.", d)


def closed_en() -> Call:
    d = [
        U("rep", "Good morning Lisa, this is Mark from Team Desk, thanks for taking my call. Do you have a few minutes to talk today?", at=LEAD_IN_S),
        U("customer", "Yes, I have a few minutes. We are a small transport company with forty people, and I lead the sales team."),
        U("rep", "Great, thank you. I work with many companies like yours. Do you use any software for sales today?"),
        U("customer", "Not really. We have a shared spreadsheet for the big accounts, and everyone keeps their own notes. "
                      "When someone is on holiday, nobody knows where their deals are."),
        U("rep", "I see, that happens a lot with spreadsheets. Is this a problem for you every week?"),
        U("customer", "Not every week, but often enough. Last month one of our best customers called three times about a late delivery, "
                      "and each time he spoke to someone new. In the end he was quite angry."),
        U("rep", "That sounds hard on the team. Our tool keeps every call and every email for a customer on one page. "
                 "Would this help your team?"),
        U("customer", "I think it would. The team would know who spoke to the customer last. "
                      "Right now our Monday meeting takes a full hour, and most of it is people reading out notes."),
        U("rep", "Okay, that makes sense. The system saves everything for you, so nobody has to type notes after a call. Most teams save a few hours every week."),
        U("customer", "That would be nice. We looked at a few tools last year, but they were too big for us, "
                      "and the price was far too high for a small team."),
        U("rep", "Right, our tool is built for small teams like yours. You only pay for the people who use it. "
                 "Does the price matter most to you?"),
        U("customer", "Price matters, but the tool also has to be simple, because my team is not very technical. "
                      "If it takes more than a day to learn, they will go back to the spreadsheet."),
        U("rep", "Setup takes about one hour, and we do it together with you. Most people learn it in their first morning."),
        U("customer", "One hour would be fine. It would also need to work with our email, "
                      "because our customers send orders by email all day long."),
        U("rep", "Yes, it works with all the common email systems. Can you send me a list of the tools you use today?"),
        U("customer", "Sure, I can send it to you this afternoon."),
        U("rep", "Thank you, that is very helpful. Can I show you a short demo next week? Is Tuesday okay for you?"),
        U("customer", "Tuesday morning works for me. My manager should join too, because she decides on the budget."),
        U("rep", "Of course, that is a good idea. Can you invite her to the call? Is ten o'clock okay for you both?"),
        U("customer", "Yes, that is fine."),
        U("rep", "Great, thanks Lisa. Talk to you on Tuesday."),
    ]
    return Call("closed", "en", {"rep": "en-us+m3", "customer": "en-gb+f3"}, {"rep": 220, "customer": 170}, (0.6, 1.0),
                "Polite but fast rep who asks only closed yes/no questions (Do you, Is this, Would this, Does, Can you/I, Is): the customer "
                "does most of the talking, no interruptions, turns start 0.6-1.0 s after the other party stops, no summary, "
                "no open question. Meant to trigger the language rules (closed questions in a row, no summary after a "
                "minute of customer speech, pace), not the talk-time rules.", d, report_wpm=True)


def closed_nl() -> Call:
    d = [
        U("rep", "Goedemorgen mevrouw de Vries, u spreekt met Mark van Team Desk. Heeft u een paar minuten tijd?", at=LEAD_IN_S),
        U("customer", "Ja hoor. Wij zijn een klein transportbedrijf met veertig mensen, en ik leid het verkoopteam."),
        U("rep", "Mooi, dank u wel. Ik werk met veel bedrijven van uw grootte. Heeft u op dit moment een systeem voor de verkoop?"),
        U("customer", "Niet echt. We hebben een gedeelde Excel lijst, en iedereen heeft zijn eigen notities. "
                      "Als iemand op vakantie is, weet niemand hoe het met zijn klanten staat."),
        U("rep", "Dat zie ik heel vaak bij Excel lijsten. Is dat elke week een probleem voor u?"),
        U("customer", "Niet elke week, maar wel vaak genoeg. Vorige maand belde een goede klant drie keer over een late levering, "
                      "en elke keer kreeg hij iemand anders aan de lijn."),
        U("rep", "Dat is vervelend voor het team. Ons systeem zet elk gesprek en elke mail van een klant op een pagina. "
                 "Zou dat uw team helpen?"),
        U("customer", "Ik denk het wel. Dan weet iedereen wie de klant als laatste heeft gesproken. "
                      "Nu duurt ons overleg op maandag een heel uur."),
        U("rep", "Dat begrijp ik. Het systeem slaat alles zelf op, dus niemand hoeft na een gesprek notities te typen. "
                 "De meeste teams besparen zo een paar uur per week."),
        U("customer", "Dat zou mooi zijn. We hebben vorig jaar een paar systemen bekeken, maar die waren te groot en te duur voor een klein team."),
        U("rep", "Precies, ons systeem is gemaakt voor kleine teams. U betaalt alleen voor de mensen die het gebruiken. "
                 "Is de prijs voor u het belangrijkste?"),
        U("customer", "De prijs telt mee, maar het moet ook eenvoudig zijn, want mijn team is niet erg technisch. "
                      "Als het meer dan een dag kost om te leren, gaan ze terug naar Excel."),
        U("rep", "De installatie duurt ongeveer een uur, en die doen we samen met u. De meeste mensen leren het in een ochtend."),
        U("customer", "Een uur is prima. Het moet ook met onze mail werken, "
                      "want onze klanten sturen de hele dag bestellingen per mail."),
        U("rep", "Ja, het werkt met alle gewone mailprogramma's. Kunt u mij een lijst sturen van de programma's die u nu gebruikt?"),
        U("customer", "Zeker, die stuur ik vanmiddag op."),
        U("rep", "Dank u wel, dat helpt. Wilt u volgende week een korte demo zien? Is dinsdag goed voor u?"),
        U("customer", "Dinsdagochtend komt goed uit. Mijn directeur komt er ook bij, want zij beslist over het budget."),
        U("rep", "Natuurlijk, dat is een goed idee. Kunt u haar voor het gesprek uitnodigen? Is tien uur goed voor u allebei?"),
        U("customer", "Ja, dat is prima."),
        U("rep", "Perfect, dank u wel. Tot dinsdag."),
    ]
    return Call("nl_closed", "nl", {"rep": "nl+m3", "customer": "nl+f3"}, {"rep": 240, "customer": 165}, (0.6, 1.0),
                "Dutch polite but fast rep who asks only closed ja/nee questions (Heeft u, Is dat, Zou dat, Kunt u, Wilt u): "
                "the customer does most of the talking, no interruptions, turns start 0.6-1.0 s after the other party "
                "stops, no summary, no open question. Meant to trigger the language rules, not the talk-time rules.",
                d, report_wpm=True)


CALLS = [good_en, pushy_en, good_nl, pushy_nl, fillers_en, closed_en, closed_nl]

# ---------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------

_SENT_RE = re.compile(r"(?<=[.?!])\s+")
_FILLER_RE = re.compile(r"\{([^}]*)\}")


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENT_RE.split(text.strip()) if s]


def synth_sentence(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    raw, res = tmp / "raw.wav", tmp / "res.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-D", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(res),
                    "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"],
                   check=True)
    x, sr = sf.read(str(res), dtype="int16")
    assert sr == RATE and x.ndim == 1 and len(x) > 0, (text, sr, x.shape)
    return x


def longest_internal_pause(x: np.ndarray, thr_db: float = -50.0) -> float:
    f = RATE // 100
    n = len(x) // f
    fr = (x[: n * f].astype(np.float64) / 32768).reshape(n, f)
    e = 10 * np.log10(np.mean(fr ** 2, axis=1) + 1e-12)
    sp = e > thr_db
    idx = np.flatnonzero(sp)
    if len(idx) < 2:
        return 0.0
    best = cur = 0
    for k in range(idx[0], idx[-1] + 1):
        cur = 0 if sp[k] else cur + 1
        best = max(best, cur)
    return best / 100


def synth_utterance(text: str, voice: str, speed: int, tmp: Path) -> tuple[np.ndarray, float]:
    parts = []
    worst = 0.0
    for s in split_sentences(text):
        x = synth_sentence(s, voice, speed, tmp)
        worst = max(worst, longest_internal_pause(x))
        if parts:
            parts.append(np.zeros(int(SENTENCE_GAP_S * RATE), np.int16))
        parts.append(x)
    return np.concatenate(parts), worst


def trim_end(x: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x.astype(np.int32)) > TRIM_ABS)
    return x[: idx[-1] + 1] if len(idx) else x[:0]


# ---------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------

def union(iv: list[tuple[float, float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def total(iv) -> float:
    return sum(b - a for a, b in iv)


def question_labels(text: str, lang: str) -> list[dict]:
    out = []
    for s in split_sentences(_FILLER_RE.sub(r"\1", text)):
        first = re.sub(r"[^\w']", "", s.split()[0].lower()) if s.split() else ""
        if s.endswith("?") or first in ("tell", "vertel", "describe", "beschrijf"):
            out.append({"text": s, "type": "open" if first in OPEN_WORDS[lang] else "closed"})
    return out


def ground_truth(call: Call, utts: list[dict], duration: float) -> dict:
    rep = [(u["start"], u["end"]) for u in utts if u["speaker"] == "rep"]
    cus = [(u["start"], u["end"]) for u in utts if u["speaker"] == "customer"]
    rep_s, cus_s = total(union(rep)), total(union(cus))
    share = rep_s / (rep_s + cus_s)

    interruptions, details = [], []
    for a, b in rep:
        for c, e in cus:
            if c < a < e:
                ov = min(b, e) - a
                if ov >= INTERRUPT_MIN_OVERLAP_S and b - a >= INTERRUPT_MIN_REP_S:
                    interruptions.append(round(a, 3))
                    details.append({"t": round(a, 3), "overlap_s": round(ov, 3), "rep_utterance_s": round(b - a, 3)})
    cust_interruptions = [round(c, 3) for c, e in cus for a, b in rep
                          if a < c < b and min(b, e) - c >= INTERRUPT_MIN_OVERLAP_S]

    # monologue: rep runs, rep pauses < 1.5 s bridged unless the customer speaks in the pause
    runs: list[list[float]] = []
    for a, b in union(rep):
        if runs and a - runs[-1][1] < MONOLOGUE_BRIDGE_S and not any(c < a and e > runs[-1][1] for c, e in cus):
            runs[-1][1] = b
        else:
            runs.append([a, b])
    longest = max(runs, key=lambda r: r[1] - r[0])

    both = union(rep + cus)
    silences = [both[i + 1][0] - both[i][1] for i in range(len(both) - 1)]
    cus_u = union(cus)
    gaps = []
    for a, b in union(rep):
        prev = [e for c, e in cus_u if e <= a]
        if prev and not any(c < a < e for c, e in cus_u):
            # only a turn change: the customer spoke after the rep's previous run
            if not any(pa < a and pb > max(prev) for pa, pb in union(rep) if (pa, pb) != (a, b)):
                gaps.append(round(a - max(prev), 3))

    questions, summaries, fillers = [], [], []
    for i, u in enumerate(utts):
        if u["speaker"] != "rep":
            continue
        for q in question_labels(u["text_script"], call.language):
            questions.append({"t": u["start"], "utterance": i, **q})
        if u["text"].lower().startswith(SUMMARY_PREFIXES):
            summaries.append(u["start"])
        fl = [re.sub(r"[^\w' ]", "", f).strip().lower() for f in _FILLER_RE.findall(u["text_script"])]
        if fl:
            fillers.append({"utterance": i, "start": u["start"], "end": u["end"], "fillers": fl})

    gt = {
        "name": call.name,
        "language": call.language,
        "duration_s": round(duration, 3),
        "rate_hz": RATE,
        "voices": call.voices,
        "espeak_speed_wpm": call.speeds,
        "utterances": [{k: v for k, v in u.items() if k != "text_script"} for u in utts],
        "speech_s": {"rep": round(rep_s, 3), "customer": round(cus_s, 3)},
        "talk_share": {"rep": round(share, 4), "customer": round(1 - share, 4)},
        "interruptions": interruptions,
        "interruption_details": details,
        "customer_interruptions": cust_interruptions,
        "longest_rep_monologue_s": round(longest[1] - longest[0], 3),
        "longest_rep_monologue": {"start": round(longest[0], 3), "end": round(longest[1], 3)},
        "longest_silence_s": round(max(silences) if silences else 0.0, 3),
        "rep_response_gaps_s": gaps,
        "rep_questions": questions,
        "summaries": summaries,
        "notes": call.notes,
    }
    if fillers:
        rep_words = sum(len(u["text"].split()) for u in utts if u["speaker"] == "rep")
        n = sum(len(f["fillers"]) for f in fillers)
        gt["fillers"] = fillers
        gt["filler_count"] = n  # braced groups: "so um" and "you know" count once
        gt["filler_word_count"] = sum(len(x.split()) for f in fillers for x in f["fillers"])
        gt["rep_word_count"] = rep_words
    if call.report_wpm:
        # words (whitespace-split script text) over the rep's speech time (union of the trimmed
        # intervals, 0.2 s sentence gaps inside an utterance included)
        rep_words = sum(len(u["text"].split()) for u in utts if u["speaker"] == "rep")
        gt["rep_word_count"] = rep_words
        gt["rep_wpm"] = round(rep_words * 60 / rep_s, 1)
        gt["rep_wpm_per_utterance"] = [round(len(u["text"].split()) * 60 / (u["end"] - u["start"]), 1)
                                       for u in utts if u["speaker"] == "rep"]
    return gt


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------

def build(call: Call, tmp: Path, noise_dbfs: float | None) -> dict:
    rng = random.Random(call.name)
    placed: list[dict] = []  # {speaker, start_sample, audio, text...}
    for u in call.dialogue:
        script_text = u.text
        spoken = _FILLER_RE.sub(r"\1", script_text)
        audio, pause = synth_utterance(spoken, call.voices[u.speaker], call.speeds[u.speaker], tmp)
        if pause > MAX_INTERNAL_PAUSE_S:
            raise SystemExit(f"{call.name}: pause of {pause:.2f} s inside {spoken!r}: split or reduce punctuation")
        prev = placed[-1] if placed else None
        if u.at is not None:
            start = int(round(u.at * RATE))
        elif u.into is not None:
            start = prev["start"] + int(round(u.into * RATE))
        else:
            g = u.gap if u.gap is not None else rng.uniform(*call.gap_range)
            start = prev["start"] + len(prev["audio"]) + int(round(g * RATE))
        if u.cut_prev is not None:
            cut = start + int(round(u.cut_prev * RATE)) - prev["start"]
            assert 0 < cut < len(prev["audio"]), (call.name, u.text, "cut outside interrupted utterance")
            full = len(prev["audio"])
            a = prev["audio"][:cut].copy()
            nf = int(FADE_S * RATE)
            a[-nf:] = (a[-nf:] * np.linspace(1, 0, nf)).astype(np.int16)
            prev["audio"] = trim_end(a)
            words = prev["text"].split()
            keep = max(1, round(len(words) * len(prev["audio"]) / full))
            prev["text_full"] = prev["text"]
            prev["text"] = " ".join(words[:keep]).rstrip(",.") + "..."
            prev["cut"] = True
        placed.append({"speaker": u.speaker, "start": start, "audio": audio, "text": spoken,
                       "text_script": script_text, "max_internal_pause": pause})

    for p in ("rep", "customer"):
        own = [x for x in placed if x["speaker"] == p]
        for x, y in zip(own, own[1:]):
            assert x["start"] + len(x["audio"]) <= y["start"], (call.name, p, "same-party overlap", y["text"])

    n = max(x["start"] + len(x["audio"]) for x in placed) + int(TAIL_S * RATE)
    tracks = {"rep": np.zeros(n, np.int16), "customer": np.zeros(n, np.int16)}
    if noise_dbfs is not None:
        nrng = np.random.default_rng(sum(map(ord, call.name)))
        amp = 32768 * 10 ** (noise_dbfs / 20)
        for p in tracks:
            tracks[p] = np.clip(np.round(nrng.normal(0, amp, n)), -32768, 32767).astype(np.int16)
    utts = []
    for x in placed:
        t = tracks[x["speaker"]]
        s = x["start"]
        a = np.round(x["audio"] * 10 ** (LEVEL_DB / 20)).astype(np.int32)
        t[s:s + len(a)] = np.clip(t[s:s + len(a)].astype(np.int32) + a, -32768, 32767)
        u = {"speaker": x["speaker"], "text": x["text"], "start": round(s / RATE, 3),
             "end": round((s + len(x["audio"])) / RATE, 3), "text_script": x["text_script"]}
        if x.get("cut"):
            u["cut"] = True
            u["text_full"] = x["text_full"]
        utts.append(u)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for p, t in tracks.items():
        sf.write(str(OUT_DIR / f"{call.name}.{p}.flac"), t, RATE, subtype="PCM_16", format="FLAC", compression_level=1.0)
    gt = ground_truth(call, utts, n / RATE)
    (OUT_DIR / f"{call.name}.json").write_text(json.dumps(gt, indent=1, ensure_ascii=False) + "\n")
    gt["_max_internal_pause"] = max(x["max_internal_pause"] for x in placed)
    return gt


# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------

def vad_speech_s(path: Path, mode: int) -> float:
    x, sr = sf.read(str(path), dtype="int16")
    vad = webrtcvad.Vad(mode)
    f = int(0.03 * sr)
    flags = np.array([vad.is_speech(x[i:i + f].tobytes(), sr) for i in range(0, len(x) - f + 1, f)])
    idx = np.flatnonzero(flags)
    if len(idx) == 0:
        return 0.0
    bridge = int(round(VAD_BRIDGE_S / 0.03))
    for a, b in zip(idx, idx[1:]):
        if 1 < b - a <= bridge:  # non-speech run of (b-a-1) frames < 300 ms
            flags[a:b] = True
    return float(flags.sum()) * 0.03


def verify(gt: dict) -> list[str]:
    lines = []
    for mode in (2, 3):
        r = vad_speech_s(OUT_DIR / f"{gt['name']}.rep.flac", mode)
        c = vad_speech_s(OUT_DIR / f"{gt['name']}.customer.flac", mode)
        share = r / (r + c)
        diff = 100 * (share - gt["talk_share"]["rep"])
        ok = "OK" if abs(diff) <= 2.0 else "OFF"
        lines.append(f"  vad mode {mode}: rep {r:6.2f} s (gt {gt['speech_s']['rep']:6.2f})  customer {c:6.2f} s "
                     f"(gt {gt['speech_s']['customer']:6.2f})  rep share {100 * share:5.1f}% vs gt "
                     f"{100 * gt['talk_share']['rep']:5.1f}%  diff {diff:+.1f} pp {ok}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="build only these calls")
    ap.add_argument("--noise-dbfs", type=float, default=None, help="add a Gaussian noise floor (e.g. -60)")
    args = ap.parse_args()
    bad = 0
    with tempfile.TemporaryDirectory() as td:
        for mk in CALLS:
            call = mk()
            if args.only and call.name not in args.only:
                continue
            gt = build(call, Path(td), args.noise_dbfs)
            print(f"{call.name}: {gt['duration_s']:.1f} s, rep {100 * gt['talk_share']['rep']:.1f}%, "
                  f"speech rep {gt['speech_s']['rep']:.1f} s / customer {gt['speech_s']['customer']:.1f} s, "
                  f"interruptions {gt['interruption_details']}, customer interruptions {gt['customer_interruptions']}, "
                  f"longest monologue {gt['longest_rep_monologue_s']:.1f} s at {gt['longest_rep_monologue']['start']:.1f} s, "
                  f"longest silence {gt['longest_silence_s']:.2f} s, max pause inside an utterance "
                  f"{gt['_max_internal_pause']:.2f} s, response gaps {min(gt['rep_response_gaps_s'], default=0):.2f}-"
                  f"{max(gt['rep_response_gaps_s'], default=0):.2f} s, questions "
                  f"{sum(q['type'] == 'open' for q in gt['rep_questions'])} open / "
                  f"{sum(q['type'] == 'closed' for q in gt['rep_questions'])} closed, summaries {gt['summaries']}"
                  + (f", fillers {gt['filler_count']} ({gt['filler_word_count']} words) of {gt['rep_word_count']} rep words" if "fillers" in gt else ""))
            for line in verify(gt):
                print(line)
                bad += line.endswith("OFF")
    total_b = sum(p.stat().st_size for p in OUT_DIR.glob("*.flac"))
    print(f"FLAC total: {total_b / 1e6:.2f} MB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
