"""Utterances to recognition requests, recognition results to transcript messages.

Pure. Owns segment numbering and the partial-to-final commit state of each utterance in
flight; who may see a transcript is the session's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from models.recognition import SegmentRecognized
from models.recognition import Word as RecognizedWord
from models.wire import Role, Transcript, Word
from server.core.attribution import Heard
from server.core.commit import SegmentCommitter
from server.core.party import UtteranceAudio
from server.core.vad import FRAME_BYTES, FRAME_S

# A request is recognised when at least this share of its voiced frames is the party's own.
OWN_SHARE_TO_RECOGNISE = 0.3
# What a microphone carried over joint frames: (is the rep, first frame, count) -> per frame.
HeardLookup = Callable[[bool, int, int], list[Heard]]


@dataclass(frozen=True, slots=True)
class AsrRequest:
    """Audio of one party's utterance to recognise; the adapter hands it to the ASR pool."""

    speaker: Role  # rep or customer
    segment: int
    final: bool
    pcm: bytes  # 16 kHz PCM16 mono
    start_s: float  # session audio time of pcm[0]
    language: str | None  # None: detect
    # No context prompt by default: the speaker's previous text raised streamed WER from
    # 1.07x to 1.14x offline on the bundled calls (bench/bench_pipeline_wer.py).
    prompt: str | None = None


class Transcription:
    """Segments of both parties: numbered, committed, finalised once."""

    def __init__(self) -> None:
        self._next_segment = 0
        self._open: dict[Role, int] = {}  # speaker -> segment being spoken
        self._committers: dict[int, SegmentCommitter] = {}  # segments awaiting their final
        self._speaker: dict[int, Role] = {}  # segment -> whose it is, while awaited
        self._shown_partial: set[int] = set()

    def in_flight(self, speaker: Role) -> bool:
        """Whether an utterance of `speaker` is being spoken or awaits its final text."""
        return speaker in self._open or speaker in self._speaker.values()

    def requests(
        self, speaker: Role, utterances: list[UtteranceAudio], language: str | None
    ) -> list[AsrRequest]:
        """Recognition requests for a party's utterance audio, in order."""
        out = []
        for utterance in utterances:
            segment = self._open.get(speaker)
            if segment is None:
                self._next_segment += 1
                segment = self._open[speaker] = self._next_segment
                self._committers[segment] = SegmentCommitter()
                self._speaker[segment] = speaker
            if utterance.final:
                del self._open[speaker]
            out.append(
                AsrRequest(
                    speaker=speaker,
                    segment=segment,
                    final=utterance.final,
                    pcm=utterance.pcm,
                    start_s=utterance.start_s,
                    language=language,
                )
            )
        return out

    def expects(self, segment: int) -> bool:
        """Whether a result for `segment` is still wanted (not cancelled, not final)."""
        return segment in self._committers

    def result(self, result: SegmentRecognized) -> Transcript | None:
        """The transcript message a result makes, or None when there is nothing to show.

        Results of cancelled or already final segments, or of another speaker than the
        segment's, are dropped. A final that recognised nothing is still sent when
        partials were shown, so that clients can clear them.
        """
        segment, speaker, start_s = result.segment, result.speaker, result.start_s
        committer = self._committers.get(segment)
        if committer is None or self._speaker.get(segment) is not speaker:
            return None
        if result.final:
            del self._committers[segment]
            del self._speaker[segment]
            final_words = committer.on_final(result.words)
            shown = segment in self._shown_partial
            self._shown_partial.discard(segment)
            if not final_words and not shown:
                return None
            return _message(speaker, segment, final_words, start_s, final=True)
        view = committer.on_partial(result.words)
        if view is None or not view.words:
            return None
        self._shown_partial.add(segment)
        return _message(speaker, segment, view.words, start_s, final=False)

    def cancel(self, speaker: Role | None = None) -> None:
        """Forgets the segments in flight (of one speaker, or all): their results are dropped."""
        for segment, whose in list(self._speaker.items()):
            if speaker is None or whose is speaker:
                del self._speaker[segment]
                self._committers.pop(segment, None)
                self._shown_partial.discard(segment)
        for whose in list(self._open):
            if speaker is None or whose is speaker:
                del self._open[whose]


def _message(
    speaker: Role, segment: int, words: tuple[RecognizedWord, ...], start_s: float, *, final: bool
) -> Transcript:
    wire_words = tuple(
        Word(w=w.w, start=round(start_s + w.start_s, 3), end=round(start_s + w.end_s, 3))
        for w in words
    )
    return Transcript(
        speaker=speaker.value,  # type: ignore[arg-type]
        segment=segment,
        text=" ".join(w.w for w in words).strip(),
        final=final,
        start=wire_words[0].start if wire_words else start_s,
        end=wire_words[-1].end if wire_words else start_s,
        words=wire_words,
    )


class HeldRequests:
    """Recognition requests held until the joint timeline has attributed their audio.

    A microphone also carries the other party's voice and other people's talk: before its
    audio goes to recognition as that party's words, the frames attribution gave to nobody
    (a leak, background talk) are silenced, and a request that is mostly someone else's
    voice is not sent at all. Requests of one speaker leave in order.
    """

    def __init__(self) -> None:
        self._held: list[AsrRequest] = []

    def hold(self, requests: list[AsrRequest]) -> None:
        self._held.extend(requests)

    def cancel(self, speaker: Role | None = None) -> None:
        self._held = [r for r in self._held if speaker is not None and r.speaker is not speaker]

    def release(
        self, heard: HeardLookup, through_frame: int, *, everything: bool = False
    ) -> tuple[list[AsrRequest], list[AsrRequest]]:
        """Requests whose audio the timeline has passed (all, with `everything`).

        Returns:
            (to recognise, with foreign frames silenced; finals that held no own voice).
        """
        ready: list[AsrRequest] = []
        empty: list[AsrRequest] = []
        waiting: set[Role] = set()
        kept: list[AsrRequest] = []
        for request in self._held:
            start = round(request.start_s / FRAME_S)
            n = len(request.pcm) // FRAME_BYTES
            if request.speaker in waiting or (not everything and start + n > through_frame):
                waiting.add(request.speaker)
                kept.append(request)
                continue
            flags = heard(request.speaker is Role.REP, start, n)
            own = sum(1 for h in flags if h is Heard.OWN)
            foreign = sum(1 for h in flags if h in (Heard.LEAK, Heard.BACKGROUND))
            if foreign and own < OWN_SHARE_TO_RECOGNISE * (own + foreign):
                if request.final:
                    empty.append(request)
                continue
            if any(h is Heard.LEAK for h in flags):
                # Only the other party's voice is cut out: frames judged background inside
                # an utterance may be the party's own soft syllables.
                request = dataclasses.replace(request, pcm=_silenced(request.pcm, flags))
            ready.append(request)
        self._held = kept
        return ready, empty


def _silenced(pcm: bytes, flags: list[Heard]) -> bytes:
    out = bytearray(pcm)
    silence = bytes(FRAME_BYTES)
    for i, h in enumerate(flags):
        if h is Heard.LEAK:
            out[i * FRAME_BYTES : (i + 1) * FRAME_BYTES] = silence
    return bytes(out)
