"""Streaming WER through the real session core vs offline transcription, tiny.en.

The session cuts utterances on its own VAD (pre/post roll, long-speech cuts) exactly as the
server does; each final request is recognised with the real Recognizer (simulated clock, so
load does not matter). Offline: faster-whisper's transcribe() over each whole party track
(beam 5). Goal: streamed WER at most 1.1x offline.

    .venv/bin/python bench/bench_pipeline_wer.py [--prompt] [--beam 1] [--no-words] [--calls good pushy closed]

--prompt passes the speaker's previous final text as the decoder prompt (measured: worse).
--beam 1 decodes finals greedily; --no-words skips the word alignment (issue 11 levers).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jiwer
import numpy as np

from client.stream import read_audio
from models.playbook import default_playbook
from models.recognition import SegmentRecognized
from models.wire import Consent, Role
from server.asr.engine import Recognizer
from server.core.session import Outputs, Session

CALLS = Path(__file__).resolve().parents[1] / "client" / "calls"


def normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).replace("-", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", action="store_true")
    parser.add_argument("--calls", nargs="+", default=["good", "pushy", "closed"])
    parser.add_argument("--beam", type=int, default=5, help="beam of final decodes (1: greedy)")
    parser.add_argument(
        "--no-words", action="store_true", help="no word alignment (words spread evenly)"
    )
    args = parser.parse_args()
    recognizer = Recognizer("tiny.en", cpu_threads=2, beam_size_final=args.beam)
    recognizer.warm_up()
    refs, streamed, offline = [], [], []
    print(f"{'track':18s} {'words':>5s} {'stream':>7s} {'offline':>7s}")
    for name in args.calls:
        truth = json.loads((CALLS / f"{name}.json").read_text())
        rep_audio = read_audio(CALLS / f"{name}.rep.flac")
        customer_audio = read_audio(CALLS / f"{name}.customer.flac")
        session = Session(name, playbook=default_playbook(), asr=True)
        rep, _ = session.join(Role.REP, "Rep", rep_audio.format())
        customer, _ = session.join(Role.CUSTOMER, "Customer", customer_audio.format())
        for pid in (rep, customer):
            session.consent(pid, Consent(granted=True, scopes=("coaching", "transcript")), 0.0)
        session.set_partial_interval(None)  # finals only: partials do not change finals

        def handle(out: Outputs) -> None:
            for request in out.asr_jobs:
                audio = np.frombuffer(request.pcm, "<i2").astype(np.float32) / 32768
                result = recognizer.recognize(
                    audio,
                    language="en",
                    final=True,
                    prompt=request.prompt if args.prompt else None,
                    word_timestamps=not args.no_words,
                )
                handle(
                    session.on_recognition(  # noqa: B023 - handle() runs within this iteration
                        SegmentRecognized(
                            speaker=request.speaker,
                            segment=request.segment,
                            final=True,
                            start_s=request.start_s,
                            words=result.words,
                        )
                    )
                )

        for a, b in zip(rep_audio.frames(), customer_audio.frames(), strict=True):
            handle(session.feed_audio(rep, a))
            handle(session.feed_audio(customer, b))
        handle(session.end(rep, 0.0))
        for party, audio in (("rep", rep_audio), ("customer", customer_audio)):
            ref = normalise(
                " ".join(u["text"] for u in truth["utterances"] if u["speaker"] == party)
            )
            hyp = normalise(" ".join(t.text for t in session.coach.transcript if t.speaker == party))
            segments, _ = recognizer._model.transcribe(
                audio.samples.astype(np.float32) / 32768,
                language="en",
                beam_size=5,
                vad_filter=False,
            )
            off = normalise(" ".join(s.text for s in segments))
            print(
                f"{name + '.' + party:18s} {len(ref.split()):5d} {jiwer.wer(ref, hyp):7.3f} {jiwer.wer(ref, off):7.3f}"
            )
            refs.append(ref)
            streamed.append(hyp)
            offline.append(off)
    ws, wo = jiwer.wer(refs, streamed), jiwer.wer(refs, offline)
    print(
        f"{'ALL (corpus WER)':18s} {'':5s} {ws:7.3f} {wo:7.3f}  ratio {ws / wo:.2f} (goal <= 1.10, prompt={args.prompt}, beam {args.beam}, words {not args.no_words})"
    )


if __name__ == "__main__":
    main()
