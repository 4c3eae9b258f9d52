"""One practice session: participants, consent, liveness, routing of what the core makes.

Pure and synchronous: every command returns an `Outputs` that the caller must carry out
in order (send `sends`, publish `publish`, submit `asr_jobs`, cancel ASR if `cancel_asr`,
close `closes`). Wall time enters only as a value for the consent ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from models.errors import BadAudioFormat, BadConsent, Forbidden, NotAllowedNow, RoleTaken
from models.playbook import Playbook
from models.report import ConsentRecord, InterruptionRecord, SessionReport
from models.wire import (
    AudioFormat,
    Checklist,
    ChecklistEntry,
    Consent,
    Metrics,
    Nudge,
    ParticipantView,
    QuestionCounts,
    Report,
    Role,
    ServerMessage,
    Severity,
    State,
    TalkShare,
    Transcript,
)
from server.asr.jobs import Word as AsrWord
from server.core.audio import AudioInput
from server.core.pacing import NudgePacer
from server.core.party import PartyStream, UtteranceAudio, VoiceDetector
from server.core.prosody import ProsodySnapshot, ProsodyTracker
from server.core.questions import QuestionKind
from server.core.rules import RuleBook
from server.core.speech import SpeechCoach
from server.core.transcripts import AsrRequest, Transcription
from server.core.turns import Interrupted, Turns, TurnSettings
from server.core.vad import FRAME_MS, FRAME_S, FrameVad

# A party whose audio lags the other's by more than this counts as silent for what it
# missed, so one stalled connection never stalls the other's coaching (protocol.md, Time).
LAG_BOUND_FRAMES = 2000 // FRAME_MS
# The rep's prosody snapshot is refreshed this often (audio seconds) for the rules.
PROSODY_EVERY_S = 5.0
# Metrics go out about once per audio second.
METRICS_EVERY_MS = 1000


@dataclass(slots=True)
class Participant:
    id: str
    role: Role
    name: str
    connected: bool = True
    scopes: frozenset[str] | None = None  # None until consent is granted
    on_behalf: bool = False  # represented on the rep's stereo device
    audio: AudioInput | None = None

    @property
    def consented(self) -> bool:
        return self.scopes is not None and "coaching" in self.scopes

    def view(self) -> ParticipantView:
        return ParticipantView(
            role=self.role,
            name=self.name,
            connected=self.connected,
            consented=self.consented,
            on_behalf=self.on_behalf,
            scopes=tuple(sorted(self.scopes or ())),
        )


@dataclass(slots=True)
class Outputs:
    """What a command produced; carry it out in field order."""

    sends: list[tuple[str, ServerMessage]] = field(default_factory=list)
    publish: list[ServerMessage] = field(default_factory=list)
    asr_jobs: list[AsrRequest] = field(default_factory=list)
    cancel_asr: bool = False
    closes: list[str] = field(default_factory=list)

    def extend(self, other: Outputs) -> None:
        self.sends.extend(other.sends)
        self.publish.extend(other.publish)
        self.asr_jobs.extend(other.asr_jobs)
        self.cancel_asr = self.cancel_asr or other.cancel_asr
        self.closes.extend(other.closes)


class Session:
    """A practice call between one rep and one customer, with optional observers."""

    def __init__(
        self,
        session_id: str,
        *,
        title: str = "",
        language: str = "en",
        playbook: Playbook,
        report_url: str = "",
        vad_factory: Callable[[], VoiceDetector] = FrameVad,
        asr: bool = False,
    ) -> None:
        self.id = session_id
        self.title = title
        self.language = language
        self.playbook = playbook
        self.report_url = report_url or f"/v1/sessions/{session_id}/report"
        self.participants: dict[str, Participant] = {}
        self.status = "created"  # created -> waiting -> live <-> paused -> ended
        self.dropped_before_consent_s = 0.0
        self.ledger: list[ConsentRecord] = []
        self.nudges: list[Nudge] = []
        self.transcript: list[Transcript] = []
        self.erased = False
        self._next_participant = 0
        self._next_nudge = 0
        self._parties = {
            Role.REP: PartyStream(vad_factory()),
            Role.CUSTOMER: PartyStream(vad_factory()),
        }
        rules = playbook.rules
        self.turns = Turns(
            TurnSettings(
                window_s=rules.talk_ratio.window_s,
                monologue_pause_s=rules.monologue.pause_s,
                interruption_overlap_s=rules.interruption.min_overlap_s,
                backchannel_max_s=rules.interruption.backchannel_max_s,
            )
        )
        self._rules = RuleBook(playbook)
        self._pacer = NudgePacer(playbook.pacing)
        self.asr = asr
        self.detected_language: str | None = None
        self._transcription = Transcription()
        self.speech = SpeechCoach(playbook, language)
        self._checklist_sent = False
        self._prosody_cache: ProsodySnapshot | None = None
        self._prosody_cache_at_s = 0.0
        if rules.monotone.enabled or rules.volume.enabled:
            # Every other voiced frame is plenty for a 30 s spread (bench/bench_prosody.py).
            self._parties[Role.REP].prosody = ProsodyTracker(pitch_every_frames=2)

    # --- queries ------------------------------------------------------------------------

    @property
    def is_live(self) -> bool:
        return self.status == "live"

    @property
    def is_ended(self) -> bool:
        return self.status == "ended"

    @property
    def at_s(self) -> float:
        """Session audio time: joint frames analysed while live."""
        return self.turns.at_s

    def connected_ids(self) -> list[str]:
        return [p.id for p in self.participants.values() if p.connected and not p.on_behalf]

    def all_granted(self, scope: str) -> bool:
        """Whether every participant (and the customer on whose behalf) granted `scope`."""
        people = [p for p in self.participants.values() if p.connected]
        return bool(people) and all(p.scopes is not None and scope in p.scopes for p in people)

    def _by_role(self, role: Role) -> Participant | None:
        for p in self.participants.values():
            if p.role is role and (p.connected or p.on_behalf):
                return p
        return None

    def waiting_for(self) -> tuple[str, ...]:
        waiting: list[str] = []
        for role in (Role.REP, Role.CUSTOMER):
            p = self._by_role(role)
            if p is None or not p.connected:
                waiting.append(role.value)
            elif not p.consented:
                waiting.append(f"{role.value} consent")
        if any(
            p.role is Role.OBSERVER and p.connected and not p.consented
            for p in self.participants.values()
        ):
            waiting.append("observer consent")
        return tuple(waiting)

    def state(self) -> State:
        return State(
            session=self.id,
            live=self.is_live,
            status="waiting" if self.status == "created" else self.status,  # type: ignore[arg-type]
            waiting_for=self.waiting_for(),
            participants=tuple(p.view() for p in self.participants.values()),
            dropped_before_consent_s=round(self.dropped_before_consent_s, 3),
            title=self.title,
            language=self.language,
        )

    # --- commands -----------------------------------------------------------------------

    def join(self, role: Role, name: str, audio: AudioFormat | None) -> tuple[str, Outputs]:
        """Adds a participant for a validated token of `role`.

        Returns:
            The participant id and the outputs (a new `state` for everyone).

        Raises:
            RoleTaken: the rep or the customer is already connected (or represented).
            BadAudioFormat: stereo from anyone but the rep.
        """
        if self.is_ended:
            raise NotAllowedNow("this session has ended")
        if role in (Role.REP, Role.CUSTOMER):
            existing = self._by_role(role)
            if existing is not None:
                how = "on the rep's device" if existing.on_behalf else "connected"
                raise RoleTaken(f"the {role.value} of this session is already {how}")
        if audio is not None and audio.channels == 2 and role is not Role.REP:
            raise BadAudioFormat("only the rep may send stereo (left rep, right customer)")
        if role is Role.OBSERVER and audio is not None:
            audio = None  # observers listen; they have no microphone in the analysis
        # A returning party replaces its disconnected entry.
        for pid, p in list(self.participants.items()):
            if p.role is role and not p.connected and role is not Role.OBSERVER:
                del self.participants[pid]
        self._next_participant += 1
        pid = f"{self.id}/p{self._next_participant}"
        self.participants[pid] = Participant(
            id=pid,
            role=role,
            name=name or role.value.capitalize(),
            audio=AudioInput(audio) if audio is not None else None,
        )
        if self.status == "created":
            self.status = "waiting"
        out = Outputs()
        self._update_liveness(out)
        self._send_state(out)
        return pid, out

    def leave(self, pid: str, wall_time: float) -> Outputs:
        """A participant's connection closed (normally or not)."""
        out = Outputs()
        p = self.participants.get(pid)
        if p is None or not p.connected or self.is_ended:
            return out
        p.connected = False
        p.scopes = None  # consent belongs to a connection; a returning party consents again
        if p.role is Role.OBSERVER:
            del self.participants[pid]
        for other in list(self.participants.values()):
            if other.on_behalf and p.role is Role.REP:
                del self.participants[other.id]  # the stereo customer left with the rep's device
        if not self.connected_ids():
            return self._finish(out)
        self._update_liveness(out)
        self._send_state(out)
        return out

    def consent(self, pid: str, msg: Consent, wall_time: float) -> Outputs:
        """Records a grant or withdrawal and recomputes liveness.

        Raises:
            BadConsent: a grant without `coaching`, or a proxy grant not from a stereo rep.
        """
        p = self.participants[pid]
        out = Outputs()
        if self.is_ended:
            raise NotAllowedNow("this session has ended")
        target = p
        if msg.on_behalf_of == "customer":
            if p.role is not Role.REP or p.audio is None or p.audio.format.channels != 2:
                raise BadConsent(
                    "consent on behalf of the customer is only for a rep streaming stereo"
                )
            target = self._stereo_customer(p, msg.name)
        if msg.granted:
            if "coaching" not in msg.scopes:
                raise BadConsent("the coaching scope is required to take part")
            target.scopes = frozenset(msg.scopes)
        else:
            target.scopes = None
        self.ledger.append(
            ConsentRecord(
                participant=target.id,
                role=target.role,
                name=target.name,
                granted=msg.granted,
                scopes=tuple(sorted(msg.scopes)) if msg.granted else (),
                on_behalf_of=msg.on_behalf_of,
                given_by=p.name,
                audio_time_s=self.at_s,
                wall_time=wall_time,
                erase=msg.erase,
            )
        )
        self._update_liveness(out)
        if not msg.granted and msg.erase:
            self._erase()
        self._send_state(out)
        return out

    def _stereo_customer(self, rep: Participant, name: str | None) -> Participant:
        existing = self._by_role(Role.CUSTOMER)
        if existing is not None and not existing.on_behalf:
            raise BadConsent("the customer is connected; they consent on their own device")
        if existing is None:
            if not name:
                raise BadConsent("consent on behalf of the customer needs the customer's name")
            self._next_participant += 1
            pid = f"{self.id}/p{self._next_participant}"
            existing = Participant(id=pid, role=Role.CUSTOMER, name=name, on_behalf=True)
            self.participants[pid] = existing
        elif name:
            existing.name = name
        return existing

    def feed_audio(self, pid: str, data: bytes) -> Outputs:
        """Takes one binary frame from a participant.

        Audio that arrives while the session is not live is discarded on arrival: only
        its duration is counted. Raises `BadAudio` for a frame of the wrong framing.
        """
        p = self.participants[pid]
        out = Outputs()
        if p.audio is None:
            raise Forbidden(
                f"a{'n' if p.role is Role.OBSERVER else ''} {p.role.value} sends no audio"
            )
        channels = p.audio.decode(data) if self.is_live else None
        if channels is None:
            if len(data) % p.audio.format.bytes_per_frame == 0:
                self.dropped_before_consent_s += p.audio.seconds(len(data))
            else:
                p.audio.decode(data)  # raises BadAudio for the framing error
            return out
        if len(channels) == 2:
            self._request_asr(Role.REP, self._parties[Role.REP].feed(channels[0]), out)
            self._request_asr(Role.CUSTOMER, self._parties[Role.CUSTOMER].feed(channels[1]), out)
        else:
            party = self._parties.get(p.role)
            if party is not None:
                self._request_asr(p.role, party.feed(channels[0]), out)
        self._advance(out)
        return out

    def set_partial_interval(self, seconds: float | None) -> None:
        """How often to ask for partial transcripts; None turns partials off (overload)."""
        frames = None if seconds is None else max(1, round(seconds / FRAME_S))
        for party in self._parties.values():
            party.partial_every_frames = frames

    def on_recognition(
        self,
        speaker: str,
        segment: int,
        final: bool,
        words: list[AsrWord] | tuple[AsrWord, ...],
        start_s: float,
        language: str | None = None,
        language_probability: float = 0.0,
    ) -> Outputs:
        """Takes a recognition result back into the session (see `AsrRequest`).

        Results for segments cancelled by a pause or withdrawal are dropped. Partials of a
        segment replace each other; its final is sent once and never changes.
        """
        out = Outputs()
        if not self._transcription.expects(segment):
            return out  # cancelled (pause, withdrawal) or already final
        if language and self.language == "auto" and final and language_probability >= 0.5:
            self.detected_language = self.detected_language or language
        message = self._transcription.result(speaker, segment, final, words, start_s)
        if message is None:
            return out
        if final:
            if message.words:
                message = self._analyse_final(message, out)
                self.transcript.append(message)
            if self.is_ended:
                return out  # kept for the report; the connections are gone
        elif not self.is_live:
            return out
        self._send_transcript(out, message, speaker)
        return out

    def _analyse_final(self, message: Transcript, out: Outputs) -> Transcript:
        """Feeds a final transcript to the language coach; marks rep questions on it."""
        if self.detected_language and self.speech.language != self.detected_language:
            self.speech.set_language(self.detected_language)
        utterance, ticks = self.speech.hear(
            message.speaker,
            message.text,
            tuple((w.w, w.start, w.end) for w in message.words),
            rep_speech_s=self.turns.rep_frames * FRAME_S,
            customer_speech_s=self.turns.customer_frames * FRAME_S,
        )
        if ticks and not self.is_ended:
            self._send_coached(out, self._checklist())
        if utterance is None or utterance.question.kind is QuestionKind.NONE:
            return message
        tip = None
        if utterance.question.is_why:
            tip = self.playbook.rules.open_question.why_tip.get(self._text_language())
        return msgspec.structs.replace(
            message,
            question=utterance.question.kind.value,
            tip=tip,
        )

    def _checklist(self) -> Checklist:
        language = self._text_language()
        ticks = self.speech.checklist.ticks
        return Checklist(
            items=tuple(
                ChecklistEntry(
                    id=item.id,
                    label=item.label.get(language),
                    done=item.id in ticks,
                    at=ticks[item.id].at_s if item.id in ticks else None,
                    speaker=ticks[item.id].speaker if item.id in ticks else None,
                )
                for item in self.playbook.checklist
            )
        )

    def _send_transcript(self, out: Outputs, message: Transcript, speaker: str) -> None:
        trainer_view = self.all_granted("trainer_view")
        for p in self.participants.values():
            if not p.connected or p.on_behalf:
                continue
            if (
                p.role is Role.REP
                or (p.role is Role.OBSERVER and trainer_view)
                or (p.role is Role.CUSTOMER and p.scopes is not None and "transcript" in p.scopes)
            ):
                out.sends.append((p.id, message))
        if trainer_view and message.final:
            out.publish.append(message)

    def _request_asr(self, role: Role, utterances: list[UtteranceAudio], out: Outputs) -> None:
        if utterances:
            language = self.language if self.language != "auto" else self.detected_language
            out.asr_jobs.extend(self._transcription.requests(role.value, utterances, language))

    def _update_audio_keeping(self) -> None:
        """Keeps utterance audio only for recognition that is wanted and consented."""
        for role, party in self._parties.items():
            p = self._by_role(role)
            party.keep_audio = bool(
                self.asr
                and self.is_live
                and p is not None
                and p.scopes is not None
                and "transcript" in p.scopes
            )

    def whisper(self, sender: str, text: str) -> Outputs:
        """A trainer's or observer's manual nudge, shown to the rep alone (no pacing)."""
        out = Outputs()
        if self.is_ended:
            raise NotAllowedNow("this session has ended")
        self._next_nudge += 1
        nudge = Nudge(
            id=f"{self.id}-n{self._next_nudge}",
            rule="manual",
            text=text,
            severity=Severity.INFO,
            at=self.at_s,
            evidence={"from": sender},
        )
        self.nudges.append(nudge)
        rep = self._by_role(Role.REP)
        if rep is not None and rep.connected:
            out.sends.append((rep.id, nudge))
        return out

    def end(self, pid: str, wall_time: float) -> Outputs:
        """A participant is done; the session ends when the rep ends or all leave."""
        p = self.participants[pid]
        if p.role is Role.REP:
            return self._finish(Outputs())
        out = self.leave(pid, wall_time)
        if pid not in out.closes:
            out.closes.append(pid)  # done: its connection closes normally, not left dangling
        return out

    # --- internals ----------------------------------------------------------------------

    def _update_liveness(self, out: Outputs) -> None:
        rep = self._by_role(Role.REP)
        customer = self._by_role(Role.CUSTOMER)
        should_be_live = (
            rep is not None
            and customer is not None
            and rep.connected
            and (customer.connected or customer.on_behalf)
            and all(p.consented for p in self.participants.values() if p.connected)
            and customer.consented
        )
        if should_be_live and not self.is_live:
            self.status = "live"
            if self.playbook.checklist and not self._checklist_sent:
                self._checklist_sent = True
                self._send_coached(out, self._checklist())
            start = self.turns.frame
            for party in self._parties.values():
                party.align(start)
            for p in self.participants.values():
                if p.audio is not None:
                    p.audio.reset()
        elif not should_be_live and self.is_live:
            self.status = "paused"
            self.turns.pause()
            for party in self._parties.values():
                party.align(self.turns.frame)  # discard what was not analysed yet
            self._cancel_segments()
            out.cancel_asr = True
        self._update_audio_keeping()

    def _cancel_segments(self) -> None:
        self._transcription.cancel()

    def _advance(self, out: Outputs, *, drain: bool = False) -> None:
        """Runs the joint timeline as far as both parties' decided labels allow.

        With `drain`, runs to the end of what either party delivered (the call ends).
        """
        rep = self._parties[Role.REP]
        customer = self._parties[Role.CUSTOMER]
        turns = self.turns
        while True:
            j = turns.frame
            r = rep.peek(j)
            c = customer.peek(j)
            if r is None or c is None:
                lead = max(rep.decided_end, customer.decided_end)
                if j >= lead or (not drain and lead - j <= LAG_BOUND_FRAMES):
                    return
            if r is not None:
                rep.pop()
            if c is not None:
                customer.pop()
            r = bool(r)
            c = bool(c)
            event = turns.step(r, c)
            tick = (turns.frame * FRAME_MS) // METRICS_EVERY_MS != (
                j * FRAME_MS
            ) // METRICS_EVERY_MS
            if tick:
                self._send_coached(out, self._metrics())
            if tick or isinstance(event, Interrupted):
                self._apply_rules(out)

    def _apply_rules(self, out: Outputs) -> None:
        at_s = self.turns.at_s
        for candidate in self._rules.candidates(
            self.turns, self._text_language(), self._speech_for_rules(), self._prosody_snapshot()
        ):
            if not self._pacer.allows(candidate.rule, at_s):
                continue
            self._pacer.record(candidate.rule, at_s)
            self._rules.fired(candidate, self.turns)
            self._next_nudge += 1
            nudge = Nudge(
                id=f"{self.id}-n{self._next_nudge}",
                rule=candidate.rule,
                text=candidate.text,
                severity=candidate.severity,
                at=at_s,
                evidence=candidate.evidence,
            )
            self.nudges.append(nudge)
            self._send_coached(out, nudge)
            return  # one nudge at a time

    def _text_language(self) -> str:
        language = self.detected_language if self.language == "auto" else self.language
        return "nl" if language == "nl" else "en"

    def _prosody_snapshot(self) -> ProsodySnapshot | None:
        """The rep's pitch and level, refreshed every few audio seconds (a 30 s spread
        moves slowly, and a snapshot costs percentiles over the window)."""
        tracker = self._parties[Role.REP].prosody
        if tracker is None:
            return None
        at_s = self.turns.at_s
        if self._prosody_cache is None or at_s - self._prosody_cache_at_s >= PROSODY_EVERY_S:
            self._prosody_cache = tracker.snapshot()
            self._prosody_cache_at_s = at_s
        return self._prosody_cache

    def _speech_for_rules(self) -> SpeechCoach | None:
        """The language coach, when what the rep says is transcribed (model and consent)."""
        rep = self._by_role(Role.REP)
        if not self.asr or rep is None or rep.scopes is None or "transcript" not in rep.scopes:
            return None
        return self.speech

    def _metrics(self) -> Metrics:
        t = self.turns
        rep, customer = t.talk_share()
        rep_w, customer_w = t.window_share()
        return Metrics(
            at=t.at_s,
            talk=TalkShare(rep=rep, customer=customer),
            talk_window=TalkShare(rep=rep_w, customer=customer_w),
            longest_monologue_s=t.longest_monologue_s,
            current_monologue_s=t.current_monologue_s,
            interruptions=len(t.interruptions),
            overlaps=t.overlaps,
            mean_response_gap_s=t.mean_gap_s(self.playbook.rules.patience.last_n),
            silence_s=t.silence_s,
            questions=QuestionCounts(
                open=self.speech.facts.open_questions, closed=self.speech.facts.closed_questions
            ),
            wpm=self.speech.wpm(
                self.playbook.rules.pace.window_s, self.playbook.rules.pace.min_speech_s
            ),
            fillers=self.speech.facts.filler_count,
        )

    def _coached_ids(self) -> list[str]:
        """Who sees metrics and nudges: the rep, and observers if all allow trainer_view."""
        ids = []
        trainer_view = self.all_granted("trainer_view")
        for p in self.participants.values():
            if not p.connected or p.on_behalf:
                continue
            if p.role is Role.REP or (p.role is Role.OBSERVER and trainer_view):
                ids.append(p.id)
        return ids

    def _send_coached(self, out: Outputs, msg: ServerMessage) -> None:
        for pid in self._coached_ids():
            out.sends.append((pid, msg))
        if self.all_granted("trainer_view"):
            out.publish.append(msg)

    def _send_state(self, out: Outputs) -> None:
        state = self.state()
        for pid in self.connected_ids():
            out.sends.append((pid, state))
        if self.all_granted("trainer_view") or self.is_ended:
            out.publish.append(state)

    def _erase(self) -> None:
        """Deletes everything kept of the session's analysis; the ledger stays as proof."""
        self.nudges.clear()
        self.transcript.clear()
        self.speech = SpeechCoach(self.playbook, self.language)
        rep = self._parties[Role.REP]
        if rep.prosody is not None:
            rep.prosody = ProsodyTracker(pitch_every_frames=2)
            self._prosody_cache = None
        self._cancel_segments()
        self.turns = Turns(self.turns.settings)
        self._rules = RuleBook(self.playbook)
        self.erased = True

    def abandon(self) -> Outputs:
        """Ends a session nobody is connected to (see `SessionHub.expire`)."""
        return self._finish(Outputs())

    def _finish(self, out: Outputs) -> Outputs:
        if self.is_ended:
            return out
        was_live = self.is_live
        if was_live:
            for role, party in self._parties.items():
                self._request_asr(role, party.flush(), out)  # the last words still count
            self._advance(out, drain=True)  # what was said before the end counts
        self.status = "ended"
        if was_live:
            self.turns.pause()
        report = Report(session=self.id, url=self.report_url)
        ids = self.connected_ids()
        for pid in ids:
            out.sends.append((pid, report))
        self._send_state(out)
        if self.all_granted("trainer_view"):
            out.publish.append(report)
        out.closes.extend(ids)
        for p in self.participants.values():
            p.connected = False
        return out

    def report(self) -> SessionReport:
        t = self.turns
        rep, customer = t.talk_share()
        return SessionReport(
            session=self.id,
            title=self.title,
            language=self.language,
            status=self.status,
            duration_s=t.at_s,
            talk=TalkShare(rep=rep, customer=customer),
            rep_speech_s=round(t.rep_frames * FRAME_MS / 1000, 3),
            customer_speech_s=round(t.customer_frames * FRAME_MS / 1000, 3),
            longest_monologue_s=t.longest_monologue_s,
            interruptions=tuple(
                InterruptionRecord(at_s=i.at_s, overlap_s=i.overlap_s) for i in t.interruptions
            ),
            overlaps=t.overlaps,
            response_gaps_s=tuple(t.gaps_s),
            mean_response_gap_s=t.mean_gap_s(len(t.gaps_s) or 1),
            nudges=tuple(self.nudges),
            transcript=tuple(self.transcript),
            consent=tuple(self.ledger),
            dropped_before_consent_s=round(self.dropped_before_consent_s, 3),
            language_report=(
                self.speech.report(t.at_s, self._checklist().items) if self.asr else None
            ),
            erased=self.erased,
        )
