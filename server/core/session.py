"""One practice session: a roster, a timeline, a coach and recognition, composed.

Pure and synchronous: every command returns an `Outputs` that the caller must carry out in
field order. Who receives what is asked of audience.py and nowhere else. Wall time enters
only as a value for the consent ledger.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from models.errors import AlreadyEvaluated, BadMessage, Forbidden, NotAllowedNow
from models.playbook import Playbook
from models.recognition import SegmentRecognized
from models.report import SessionReport, SharedReport
from models.scorecard import Evaluation
from models.wire import (
    AudioCheck,
    AudioFormat,
    CallSummary,
    Checklist,
    Consent,
    CriterionView,
    Evaluate,
    Form,
    FormSection,
    Metrics,
    Nudge,
    RecognitionStatus,
    Report,
    Role,
    Scope,
    ServerMessage,
    Severity,
    State,
    Transcript,
)
from server.core import audience, mic_check, reports, summary
from server.core.audience import Kind, Mask
from server.core.coach import Coach
from server.core.outputs import Outputs
from server.core.party import UtteranceAudio, VoiceDetector
from server.core.roster import PARTIES, Participant, Roster, Status
from server.core.second_stage import SecondStage, VoiceConfirmer
from server.core.timeline import Timeline
from server.core.transcripts import AsrRequest, HeldRequests, Transcription
from server.core.turns import Turns
from server.core.vad import FRAME_S, FrameVad

__all__ = ["AsrRequest", "Outputs", "Session"]

_NOBODY = Participant(id="", role=Role.OBSERVER, name="", connected=False)

# Each microphone is checked every 2 audio seconds (attribution.MicStats: the last 20 s).
MIC_CHECK_EVERY_S = 2
# What changes a call's line on the trainer's grid (`call`).
_SUMMARIZED = frozenset({Kind.STATE, Kind.METRICS, Kind.NUDGE, Kind.CHECKLIST})


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
        recognition: RecognitionStatus | None = None,
        recognition_install: str = "",
        attribution: bool = True,
        confirmer_factory: Callable[[], VoiceConfirmer] | None = None,
        node: str = "",
        created_at: float = 0.0,
        rejoin_grace_s: float = 0.0,
    ) -> None:
        self.id = session_id
        self.node = node
        self.created_at = created_at  # wall time, for the trainer's "12 min"
        self.title = title
        self.language = language
        self.playbook = playbook
        self.report_url = report_url or f"/v1/sessions/{session_id}/report"
        self.asr = asr
        # What the page and the report say of recognition: "loading" still recognises (jobs
        # wait for the model), "unavailable" and "off" do not (see `set_recognition`).
        self.recognition: RecognitionStatus = recognition or ("on" if asr else "off")
        self.recognition_install = recognition_install
        self.detected_language: str | None = None
        self.dropped_before_consent_s = 0.0
        self.erased = False
        self.roster = Roster(session_id, rejoin_grace_s=rejoin_grace_s)
        self.timeline = Timeline.for_playbook(playbook, vad_factory, attribution=attribution)
        if confirmer_factory is not None and attribution:
            # Silero spot-checks webrtcvad on each microphone, and decides where it disagrees.
            for party in self.timeline.parties.values():
                party.second_stage = SecondStage(confirmer_factory())
        self.transcription = Transcription()
        self.held = HeldRequests()  # recognition waits for attribution (when it is on)
        self._next_nudge = 0
        self.evaluations: list[Evaluation] = []  # self-reflection, peers' and trainers' ticks
        self.shared_with_customer = False  # the rep let the customer read the whole report
        self.forgotten = False  # erased after it ended: no report is served
        # Ended while the finals of its last words were still being recognised: its report
        # and the closing of its connections wait for them (see `conclude`).
        self._farewell_due = False
        self._new_coach()

    def _new_coach(self) -> None:
        self.coach = Coach(self.playbook, self.language)
        self._last_metrics: Metrics | None = None
        self._last_checklist: Checklist | None = None
        self.timeline.parties[Role.REP].prosody = self.coach.prosody

    # --- queries ------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self.roster.status

    @property
    def is_live(self) -> bool:
        return self.roster.status is Status.LIVE

    @property
    def is_ended(self) -> bool:
        return self.roster.status is Status.ENDED

    @property
    def is_ending(self) -> bool:
        """Ended, its connections kept open for the finals of its last words: the adapter
        bounds the wait with `conclude`."""
        return self._farewell_due

    @property
    def at_s(self) -> float:
        """Session audio time: joint frames analysed while live."""
        return self.timeline.at_s

    @property
    def turns(self) -> Turns:
        return self.timeline.turns

    def state(self) -> State:
        status = self.roster.status
        return State(
            session=self.id,
            live=status is Status.LIVE,
            status="waiting" if status is Status.CREATED else status.value,  # type: ignore[arg-type]
            waiting_for=self.roster.waiting_for(),
            participants=tuple(p.view() for p in self.roster.participants.values()),
            dropped_before_consent_s=round(self.dropped_before_consent_s, 3),
            title=self.title,
            language=self.language,
            recognition=self.recognition,
            recognition_install=self.recognition_install,
        )

    def summary(self) -> CallSummary:
        """This call's line on the trainer's grid; private unless trainers may look in."""
        status = self.roster.status
        facts = summary.CallFacts(
            session=self.id,
            node=self.node,
            created_at=self.created_at,
            status="waiting" if status is Status.CREATED else status.value,  # type: ignore[arg-type]
            at_s=self.at_s,
            title=self.title,
            language=self.language,
            participants=tuple(p.view() for p in self.roster.participants.values()),
            target_rep_share=self.playbook.rules.talk_ratio.threshold,
        )
        if audience.private(self.roster):
            return summary.private_line(facts)
        language = self.text_language()
        whispers = tuple(w.text.get(language) for w in self.playbook.whispers)
        return summary.summarize(
            facts, self._last_metrics, self.coach.nudges, self._last_checklist, whispers
        )

    # --- commands -----------------------------------------------------------------------

    def join(self, role: Role, name: str, audio: AudioFormat | None) -> tuple[str, Outputs]:
        """Adds a participant for a validated token of `role` (see `Roster.join`).

        A party rejoining within the grace, or taking over a connection that still looks
        open, is back in the same place (same id): their audio counts from now on, and
        while the call runs they get the checklist and the form again (a new page). The
        caller closes a taken-over connection (its participant id is routed elsewhere).
        """
        rejoining = False
        heard_until_s = None
        if role in PARTIES:
            there = self.roster.party(role) or _NOBODY
            rejoining = there.reconnecting or self.roster.may_take_over(there)
            heard_until_s = self.timeline.heard_until_s(role)
        p = self.roster.join(role, name, audio, self.at_s, heard_until_s=heard_until_s)
        if rejoining:
            self.timeline.resume(role)
            customer = self.roster.party(Role.CUSTOMER)
            if role is Role.REP and customer is not None and customer.on_behalf:
                self.timeline.resume(Role.CUSTOMER)  # the right channel of the rep's device
        out = Outputs()
        self._update_liveness(out)
        self._send(out, Kind.STATE, self.state())
        if rejoining and self.is_live and self.coach.checklist_sent:
            self._catch_up(out, p.id)
        return p.id, out

    def leave(self, pid: str, wall_time: float, *, rejoin: bool = True) -> Outputs:
        """A participant's connection closed (normally or not).

        A rep or customer stays in the call for the rejoin grace (`reconnecting`); the
        adapter then calls `give_up` with their `dropped_at` unless they came back.
        `rejoin=False`: they left on purpose (`end`), with no grace.
        """
        out = Outputs()
        if self.roster.leave(pid, wall_time, self.at_s, rejoin=rejoin) is None:
            return out
        return self._after_leaving(out)

    def give_up(self, pid: str, dropped_at: float) -> Outputs:
        """The rejoin grace of `pid`'s drop at wall time `dropped_at` ran out: they have left
        (the call pauses, or ends when nobody is left). Nothing when they came back."""
        out = Outputs()
        if self.roster.give_up(pid, dropped_at) is None:
            return out
        return self._after_leaving(out)

    def _after_leaving(self, out: Outputs) -> Outputs:
        if not self.roster.connected_ids() and not self.roster.reconnecting():
            return self._finish(out)
        self._update_liveness(out)
        self._send(out, Kind.STATE, self.state())
        return out

    def consent(
        self, pid: str, msg: Consent, wall_time: float, *, declared_by: str | None = None
    ) -> Outputs:
        """Records a grant or withdrawal; narrowing `transcript` stops that party's recognition.

        `declared_by`: who declared it for the participant (a recording's uploader).
        """
        change = self.roster.consent(pid, msg, self.at_s, wall_time, declared_by=declared_by)
        out = Outputs()
        role = change.participant.role
        was_live = self.is_live
        if change.lost(Scope.TRANSCRIPT) and role in PARTIES:
            self.transcription.cancel(role)
            self.held.cancel(role)
            out.cancel_speakers.append(role)
        self._update_liveness(out)
        if not msg.granted and msg.erase:
            self._erase()
        self._send(out, Kind.STATE, self.state())
        if msg.granted and was_live and self.coach.checklist_sent:
            self._catch_up(out, pid)
        return out

    def _catch_up(self, out: Outputs, pid: str) -> None:
        """Someone who agreed once the call was running gets the checklist and form now."""
        language = self.text_language()
        for kind, message in (
            (Kind.CHECKLIST, self.coach.checklist(language)),
            (Kind.FORM, self.form_message()),
        ):
            message = msgspec.structs.replace(message, session=self.id)
            out.sends.extend(
                (p, message) for p, _ in audience.recipients(self.roster, kind) if p == pid
            )

    def form_message(self) -> Form:
        """The evaluation form in the call's language (for reflection and peers' ticks)."""
        language = self.text_language()
        return Form(
            sections=tuple(
                FormSection(
                    id=section.id,
                    title=section.title.get(language),
                    criteria=tuple(
                        CriterionView(
                            id=c.id,
                            label=c.label.get(language),
                            hint=c.hint.get(language) if c.hint else "",
                            judged=c.judged,
                        )
                        for c in section.criteria
                    ),
                )
                for section in self.playbook.form
            ),
            session=self.id,
        )

    def feed_audio(self, pid: str, data: bytes) -> Outputs:
        """Takes one binary frame from a participant.

        Audio that arrives while the session is not live is discarded on arrival: only its
        duration is counted. Raises `BadAudio` for a frame of the wrong framing.
        """
        p = self._participant(pid)
        out = Outputs()
        if p.audio is None:
            raise Forbidden(
                f"a{'n' if p.role is Role.OBSERVER else ''} {p.role.value} sends no audio"
            )
        if not self.is_live:
            p.audio.check(data)  # a framing error is still an error
            if not self.is_ended:  # after the end (its last finals awaited) it is no gap
                self.dropped_before_consent_s += p.audio.seconds(len(data))
            return out
        channels = p.audio.decode(data)
        if len(channels) == 2:
            self._feed(Role.REP, channels[0], out)
            customer = self.roster.party(Role.CUSTOMER)
            if customer is not None and customer.on_behalf:
                # Only a customer represented on this device speaks on the right channel: a
                # connected customer's voice comes from their own microphone.
                self._feed(Role.CUSTOMER, channels[1], out)
        elif p.role in PARTIES:
            self._feed(p.role, channels[0], out)
        for moment in self.timeline.advance():
            self._coach_moment(out, moment.tick)
        self._release_asr(out)
        return out

    def set_recognition(self, status: RecognitionStatus, install: str = "") -> Outputs:
        """The model for this call's language loaded ("on") or failed ("unavailable").

        Everyone connected is told by a new `state`. Leaving recognition cancels what was
        waiting for the model and stops holding utterance audio.
        """
        out = Outputs()
        if status == self.recognition or self.is_ended:
            return out
        self.recognition = status
        self.recognition_install = install
        if status not in ("on", "loading") and self.asr:
            self.asr = False
            self.transcription.cancel()
            self.held.cancel()
            out.cancel_asr = True
        self._update_liveness(out)
        self._send(out, Kind.STATE, self.state())
        return out

    def set_partial_interval(self, seconds: float | None) -> None:
        """How often to ask for partial transcripts; None turns partials off (overload)."""
        frames = None if seconds is None else max(1, round(seconds / FRAME_S))
        for party in self.timeline.parties.values():
            party.partial_every_frames = frames

    def set_pause_cut(self, seconds: float | None) -> None:
        """The pause that ends a long run of speech for recognition (`party.PAUSE_CUT_FRAMES`);
        None or 0: runs end at the VAD's hangover only."""
        frames = max(1, round(seconds / FRAME_S)) if seconds else None
        for party in self.timeline.parties.values():
            party.pause_cut_frames = frames

    def on_recognition(self, result: SegmentRecognized) -> Outputs:
        """Takes a recognition result back (see `AsrRequest`).

        Results for segments cancelled by a pause, a withdrawal or a narrowed scope are
        dropped. Partials of a segment replace each other; its final is sent once and
        never changes.
        """
        out = Outputs()
        self._recognised(result, out)
        if self._farewell_due and not self._awaiting_finals():
            self._farewell(out)  # the last final is in: the report and the closes follow it
        return out

    def _recognised(self, result: SegmentRecognized, out: Outputs) -> None:
        if not audience.transcribes(self.roster, result.speaker) and not self.is_ended:
            return
        if not self.transcription.expects(result.segment):
            return
        if (
            result.final
            and result.language
            and self.language == "auto"
            and result.language_probability >= 0.5
        ):
            self.detected_language = self.detected_language or result.language
        message = self.transcription.result(result)
        if message is None:
            return
        if message.final and message.words:
            message, ticked = self.coach.hear(message, self.turns, self.text_language())
            if ticked and not self.is_ended:
                self._send(out, Kind.CHECKLIST, self.coach.checklist(self.text_language()))
        if not message.final and not self.is_live:
            return  # partials only while live
        if self.is_ended and not self._farewell_due:
            return  # after the farewell: kept for the report only
        self._send(out, Kind.TRANSCRIPT, message, about=result.speaker)

    def whisper(self, pid: str, text: str) -> Outputs:
        """An observer's manual nudge, shown to the rep alone (never paced away)."""
        if self.is_ended:
            raise NotAllowedNow("this session has ended")
        sender = self._participant(pid)
        if sender.role is not Role.OBSERVER:
            raise Forbidden("only a trainer or an observer may whisper to the rep")
        if not audience.may_whisper(self.roster, pid):
            raise NotAllowedNow("agree to the terms of observing before you whisper")
        return self._whisper(text, sender.name, Role.OBSERVER)

    def trainer_whisper(self, name: str, text: str) -> Outputs:
        """A trainer's manual nudge from the dashboard (signed in with the trainer key).

        Raises:
            NotAllowedNow: the call has ended.
            Forbidden: rep and customer do not both allow trainer view.
        """
        if self.is_ended:
            raise NotAllowedNow("this call has ended")
        if audience.private(self.roster):
            raise Forbidden("the rep and the customer did not both allow trainer view")
        return self._whisper(text, name, Role.TRAINER)

    def _whisper(self, text: str, name: str, by: Role) -> Outputs:
        out = Outputs()
        nudge = self._nudge("manual", text, Severity.INFO, {"from": name, "by": by.value})
        self._send(out, Kind.WHISPER, nudge)
        return out

    def evaluate(self, role: Role, name: str, msg: Evaluate, wall_time: float) -> Evaluation:
        """Records one person's ticks on the evaluation form (one per person and call).

        The rep reflects once the call has ended (or skips it); observers tick live or after;
        trainers only where both parties allowed trainer view.

        Raises:
            Forbidden: a customer, or a trainer of a private call.
            NotAllowedNow: the rep before the end of the call.
            BadMessage: a criterion the form does not have.
            AlreadyEvaluated: this person already evaluated this call.
        """
        if role is Role.CUSTOMER:
            raise Forbidden("the customer does not evaluate the rep")
        if role is Role.TRAINER and audience.report_view(self.roster, None).value != "full":
            raise Forbidden("the rep and the customer did not both allow trainer view")
        if role is Role.REP and not self.is_ended:
            raise NotAllowedNow("reflect on the call once it has ended")
        known = {c.id for section in self.playbook.form for c in section.criteria}
        unknown = sorted((set(msg.ticks) | set(msg.notes)) - known)
        if unknown:
            raise BadMessage(f"unknown criterion {unknown[0]!r} for this call's form")
        who = (role.value, name.strip().casefold())
        if role is not Role.REP and not who[1]:
            raise BadMessage("an evaluation needs the evaluator's name")
        if any((e.role, e.by.strip().casefold()) == who for e in self.evaluations) or (
            role is Role.REP and any(e.role == "rep" for e in self.evaluations)
        ):
            raise AlreadyEvaluated("this call has your evaluation already; it stands as given")
        evaluation = Evaluation(
            by=name.strip() or role.value,
            role=role.value,  # type: ignore[arg-type]
            ticks={} if msg.skip else dict(msg.ticks),
            notes={} if msg.skip else {k: v.strip() for k, v in msg.notes.items() if v.strip()},
            skipped=msg.skip,
            at=wall_time,
        )
        self.evaluations.append(evaluation)
        return evaluation

    def end(self, pid: str, wall_time: float) -> Outputs:
        """A participant is done; the session ends when the rep ends or all leave."""
        if self._participant(pid).role is Role.REP:
            return self._finish(Outputs())
        out = self.leave(pid, wall_time, rejoin=False)
        if pid not in out.closes:
            out.closes.append(pid)  # done: its connection closes normally, not left dangling
        return out

    def abandon(self) -> Outputs:
        """Ends a session nobody is connected to (see `SessionHub.expire`)."""
        return self._finish(Outputs())

    def conclude(self) -> Outputs:
        """Stops waiting for the last finals of an ending call (`is_ending`): its report
        and final state go out and its connections close. A final that comes later still
        reaches the report. The adapter calls this after its bound, or once recognition of
        the call was cancelled."""
        if not self._farewell_due:
            return Outputs()
        return self._farewell(Outputs())

    # --- internals ----------------------------------------------------------------------

    def _participant(self, pid: str) -> Participant:
        """The participant `pid`; an observer who sent `end` is gone from the roster."""
        p = self.roster.participants.get(pid)
        if p is None:
            raise NotAllowedNow("you have left this call")
        return p

    def _send(
        self, out: Outputs, kind: Kind, msg: ServerMessage, about: Role | None = None
    ) -> None:
        if getattr(msg, "session", None) == "":
            msg = msgspec.structs.replace(msg, session=self.id)
        if isinstance(msg, Metrics):
            self._last_metrics = msg
        elif isinstance(msg, Checklist):
            self._last_checklist = msg
        plain: ServerMessage | None = None
        for pid, mask in audience.recipients(self.roster, kind, about):
            if mask is Mask.PLAIN:
                plain = plain or msgspec.structs.replace(
                    msg, question=None, tip=None, summary=False
                )
                out.sends.append((pid, plain))
            else:
                out.sends.append((pid, msg))
        final = not isinstance(msg, Transcript) or msg.final
        if audience.publishes(self.roster, kind, final=final, about=about):
            out.publish.append(msg)
        if kind is Kind.STATE or (kind in _SUMMARIZED and not audience.private(self.roster)):
            out.publish.append(self.summary())

    def _feed(self, role: Role, pcm: bytes, out: Outputs) -> None:
        self._request_asr(role, self.timeline.feed(role, pcm), out)

    def _request_asr(self, role: Role, utterances: list[UtteranceAudio], out: Outputs) -> None:
        if utterances:
            language = self.language if self.language != "auto" else self.detected_language
            requests = self.transcription.requests(role, utterances, language)
            if self.timeline.attribution is None:
                out.asr_jobs.extend(requests)
            else:
                self.held.hold(requests)

    def _release_asr(self, out: Outputs, *, everything: bool = False) -> None:
        """Sends held recognition requests the timeline has attributed; a final that held
        nobody's own voice clears what its partials showed instead."""
        attribution = self.timeline.attribution
        if attribution is None:
            return
        ready, empty = self.held.release(attribution.heard, self.turns.frame, everything=everything)
        out.asr_jobs.extend(ready)
        for request in empty:
            nothing = SegmentRecognized(
                speaker=request.speaker,
                segment=request.segment,
                final=True,
                start_s=request.start_s,
            )
            out.extend(self.on_recognition(nothing))

    def _update_liveness(self, out: Outputs) -> None:
        roster = self.roster
        should_be_live = roster.may_be_live() and roster.status is not Status.ENDED
        if should_be_live and not self.is_live:
            roster.status = Status.LIVE
            if not self.coach.checklist_sent:
                self.coach.checklist_sent = True
                if self.playbook.checklist:
                    self._send(out, Kind.CHECKLIST, self.coach.checklist(self.text_language()))
                if self.playbook.form:
                    self._send(out, Kind.FORM, self.form_message())
            self.timeline.start()
            for p in roster.participants.values():
                if p.audio is not None:
                    p.audio.reset()
        elif not should_be_live and self.is_live:
            roster.status = Status.PAUSED
            self.timeline.pause()
            self.transcription.cancel()
            self.held.cancel()
            out.cancel_asr = True
        for role, party in self.timeline.parties.items():
            # Utterance audio is held only for recognition that is wanted and consented.
            party.keep_audio = self.asr and self.is_live and audience.transcribes(roster, role)

    def _coach_moment(self, out: Outputs, tick: bool) -> None:
        if tick:
            self._send(out, Kind.METRICS, self.coach.metrics(self.turns))
            if round(self.at_s) % MIC_CHECK_EVERY_S == 0:
                self._check_microphones(out)
        chosen = self.coach.decide(
            self.turns,
            self.text_language(),
            speech_on=self.asr and audience.transcribes(self.roster, Role.REP),
            rep_text_in_flight=self.transcription.in_flight(Role.REP),
        )
        if chosen is not None:
            nudge = self._nudge(chosen.rule.value, chosen.text, chosen.severity, chosen.evidence)
            self._send(out, Kind.NUDGE, nudge)

    def _check_microphones(self, out: Outputs) -> None:
        """Tells the participants when what a microphone is good for changes."""
        attribution = self.timeline.attribution
        if attribution is None:
            return
        verdicts = self.coach.mic_verdicts
        for role, mic in ((Role.REP, attribution.rep), (Role.CUSTOMER, attribution.customer)):
            before = verdicts[role]
            stats = mic.stats()
            stage = self.timeline.parties[role].second_stage
            if stage is not None:
                stage.own_dbfs = stats.voice_dbfs  # what level of "voice" could be theirs
            now = mic_check.verdict(stats, before)
            if now is None or now == before or (before is None and now.issue == "ok"):
                continue
            self.coach.set_verdict(role, now, self.at_s)
            self._send_audio_check(out, role, now)

    def _send_audio_check(self, out: Outputs, about: Role, v: mic_check.Verdict) -> None:
        language = self.text_language()
        for to_self in (True, False):
            check = AudioCheck(
                speaker=about.value,  # type: ignore[arg-type]
                issue=v.issue,  # type: ignore[arg-type]
                reliable=v.reliable,
                text=mic_check.text(v, about, to_self, language),
                at=self.at_s,
                session=self.id,
            )
            for pid, _ in audience.recipients(self.roster, Kind.AUDIO_CHECK, about):
                if (self.roster.participants[pid].role is about) is to_self:
                    out.sends.append((pid, check))
            if not to_self:
                self.coach.audio_checks.append(check)
                if audience.publishes(self.roster, Kind.AUDIO_CHECK, about=about):
                    out.publish.append(check)

    def _nudge(
        self, rule: str, text: str, severity: Severity, evidence: dict[str, float | int | str]
    ) -> Nudge:
        self._next_nudge += 1
        nudge = Nudge(
            id=f"{self.id}-n{self._next_nudge}",
            rule=rule,
            text=text,
            severity=severity,
            at=self.at_s,
            evidence=evidence,
            show_s=self.playbook.pacing.toast_s,
            session=self.id,
        )
        self.coach.nudges.append(nudge)
        return nudge

    def text_language(self) -> str:
        language = self.detected_language if self.language == "auto" else self.language
        return "nl" if language == "nl" else "en"

    def forget(self) -> None:
        """A party erased the ended call: nothing of it is served any more (the store keeps
        the proof that it was erased)."""
        self._erase()
        self.forgotten = True

    def _erase(self) -> None:
        """Deletes everything kept of the analysis; the ledger stays as proof."""
        self.transcription.cancel()
        self.held.cancel()
        self.timeline.restart()
        self._new_coach()
        self.evaluations.clear()
        self.erased = True

    def _finish(self, out: Outputs) -> Outputs:
        if self.is_ended:
            return out
        if self.is_live:
            for role, utterances in self.timeline.flush().items():
                self._request_asr(role, utterances, out)  # the last words still count
            for moment in self.timeline.advance(drain=True):  # what was said counts
                self._coach_moment(out, moment.tick)
            self._release_asr(out, everything=True)
            self.turns.pause()
        self.roster.status = Status.ENDED
        self.timeline.close()  # what only live analysis needs: kept ended calls stay small
        self.coach.prosody = None
        self.coach.transcript.seal()
        for p in self.roster.participants.values():
            if p.audio is not None:
                p.audio.close()
        if self._awaiting_finals():
            self._farewell_due = True  # the finals of the last words first (`conclude`)
            return out
        return self._farewell(out)

    def _awaiting_finals(self) -> bool:
        return any(self.transcription.in_flight(role) for role in PARTIES)

    def _farewell(self, out: Outputs) -> Outputs:
        self._farewell_due = False
        self._send(out, Kind.REPORT, Report(session=self.id, url=self.report_url))
        self._send(out, Kind.STATE, self.state())
        out.closes.extend(self.roster.end())
        return out

    # --- reports ------------------------------------------------------------------------

    def report(self) -> SessionReport:
        """The full report: what the rep and, with trainer view, trainers read."""
        return reports.full_report(self)

    def report_for(self, role: Role | None) -> SessionReport | SharedReport:
        """The report as a token of `role` may read it (None: the trainer key)."""
        view = audience.report_view(self.roster, role, shared=self.shared_with_customer)
        return reports.report_for(self, view)
