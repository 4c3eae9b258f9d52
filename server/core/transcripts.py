"""Utterances to recognition requests, recognition results to transcript messages.

Pure. Owns segment numbering and the partial-to-final commit state of each utterance in
flight; who may see a transcript is the session's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.recognition import SegmentRecognized
from models.recognition import Word as RecognizedWord
from models.wire import Role, Transcript, Word
from server.core.commit import SegmentCommitter
from server.core.party import UtteranceAudio


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
