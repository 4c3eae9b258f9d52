"""faster-whisper recognition: load one model, recognise one utterance at a time (blocking).

Owns the model, the decoding options and the hallucination guards. Thread-safe for
concurrent ``recognize`` calls up to ``num_workers``; knows nothing of sessions or asyncio.
"""

from __future__ import annotations

import difflib
import logging
import math
import time
import zlib
from typing import Literal

import numpy as np

from models.recognition import Word
from server.asr.jobs import SAMPLE_RATE_HZ, Recognition
from server.asr.models import ModelUnavailable, ResolvedModel, resolve_model
from server.core.commit import clean_hypothesis, word_key

log = logging.getLogger("sparring.asr")

EncodeMode = Literal["exact", "pad30"]

# Whisper's encoder is trained on 30 s windows (3000 mel frames); CTranslate2 accepts fewer.
# "exact" encodes only the audio that is there plus a short tail of padding: on 2 cores the
# encoder cost falls from ~0.5 s to a few tens of ms (figures in bench/bench_asr.py output).
FULL_WINDOW_FRAMES = 3000
FRAMES_PER_SECOND = 100
# Zero-feature frames appended after the audio in "exact" mode; a short tail lets the
# decoder see that speech has ended (without it, the last word is more often dropped).
EXACT_TAIL_FRAMES = 100
# Shortest encoder input in "exact" mode: short inputs make the decoder unstable (corpus
# WER on the bundled English calls, beam 5: 0.178 with 2 s, 0.173 with 5 s); 5 s costs
# about 20 ms of encoder time.
EXACT_MIN_FRAMES = 500

# Hallucination guards. Thresholds follow Whisper's own (no_speech 0.6 with logprob -1.0,
# compression 2.4); the energy floor is -50 dBFS RMS, well below the quietest speech
# fixture (about -25 dBFS) and above digital silence.
QUIET_RMS_DBFS = -50.0
NO_SPEECH_PROB = 0.6
LOGPROB_FOR_NO_SPEECH = -1.0
# Measured with tiny.en in "exact" mode: speech fixtures (whole and 0.6-3 s prefixes, clean
# and with noise) gave no_speech_prob <= 0.57; white, pink noise and hum gave >= 0.86, and
# loud pink noise once decoded fluent nonsense at logprob -0.8. Above this, always blank.
NO_SPEECH_PROB_ALONE = 0.8
LOGPROB_FLOOR = -1.5
COMPRESSION_RATIO_MAX = 2.4
# Phrases Whisper emits on silence and noise (learnt from subtitle credits); rejected when
# the decoder is unsure (no_speech_prob above this) or when they are all there is.
HALLUCINATION_NO_SPEECH_PROB = 0.2
KNOWN_HALLUCINATIONS = frozenset(
    {
        "thank you",
        "thank you very much",
        "thanks for watching",
        "thank you for watching",
        "thanks for watching and ill see you next time",
        "please subscribe",
        "subscribe",
        "you",
        "bye",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
        "the end",
        "bedankt voor het kijken",
        "ondertiteling",
        "muziek",  # base on noise in Dutch (bench/bench_dutch.py)
        "music",
        "applause",
    }
)
# Token budget: speech rarely exceeds ~4 tokens per second; allowing 8 + 12 stops runaway
# loops without ever truncating real speech.
TOKENS_PER_SECOND_MAX = 8
TOKENS_EXTRA = 12
MAX_PROMPT_TOKENS = 100
# A final decode of at least SHORT_DECODE_MIN_S with fewer tokens than this per second, or
# below LOGPROB_FLOOR, is retried on the full 30 s window (``Recognizer._cut_short``); the
# full window costs about 5x the encoder time of a short utterance, so shorter ones are not.
# Measured on pushy.rep (tiny.en, beam 5): 17 s of speech decoded as 4 tokens at logprob
# -2.3 in "exact" mode and as the whole text at -0.44 on the full window.
SHORT_DECODE_MIN_S = 4.0
SHORT_DECODE_TOKENS_PER_S = 0.8

# Whisper leaves most fillers out of its transcripts (it was trained on cleaned-up
# subtitles); a prompt that is itself full of fillers makes it write them. Prepended to
# the prompt of final decodes when ``filler_prompt`` is on; figures in
# bench/bench_fillers.py output.
FILLER_PRIMER: dict[str, str] = {
    "en": "Um, so, uh, you know, I mean, like, we, uh, we were, um, thinking.",
    "nl": "Eh, nou, ehm, zeg maar, weet je, we, eh, dachten, ehm, dat.",
}
# Hesitation sounds (English and Dutch spellings). The primer lowers Whisper's
# no_speech_prob on noise (tiny.en: 0.95 -> 0.46-0.70 on white and pink noise and room
# tone) and makes it write "Uh, uh," there, while a lone spoken "um"/"uh" decodes with
# no_speech_prob 0.17-0.19: a hypothesis made only of these is blanked above this.
HESITATIONS = frozenset(
    {"um", "umm", "uh", "uhh", "uhm", "erm", "er", "eh", "ehh", "ehm", "hmm", "mm", "hm"}
)
FILLER_ONLY_NO_SPEECH_PROB = 0.35
# The primer also makes base write "Yeah. Yeah." on noise (no_speech_prob 0.40-0.57 with
# avg_logprob -1.1 to -1.4, where without it no_speech_prob is 0.67-0.76): a primed
# decode that is unsure (logprob < LOGPROB_FOR_NO_SPEECH) is blanked above this.
PRIMED_NO_SPEECH_PROB = 0.35
# A primed hypothesis whose last REPLAY_MIN_WORDS or more words are this similar
# (difflib ratio, hesitations as one word) to its first words is a replay: cut.
REPLAY_MIN_WORDS = 4
REPLAY_SIMILARITY = 0.75

# Word durations are capped at twice the median (median capped at 0.7 s), after
# faster-whisper's add_word_timestamps.
WORD_MEDIAN_CAP_S = 0.7

PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


class Recognizer:
    """One loaded Whisper model.

    Args:
        model: A resolved model, or a ``--model`` spec for ``resolve_model``.
        cpu_threads: CTranslate2 intra-op threads per call (CPU only).
        num_workers: Calls that may run in parallel (CTranslate2 ``inter_threads``).
        compute_type: CTranslate2 compute type; ``int8`` is fastest on CPU.
        device: ``cpu`` or ``cuda`` (``server.asr.device.resolve_placement`` checks both).
        encode_mode: ``exact`` (encode only the audio there is) or ``pad30`` (Whisper's
            30 s window).
        beam_size_partial: Beam for partial decodes (1 = greedy: partials are provisional).
        beam_size_final: Beam for final decodes (5: corpus WER 0.231 -> 0.178 on the
            bundled English calls, for about twice the decoder time, once per utterance).
        filler_prompt: Prepend ``FILLER_PRIMER`` (for the decode's language, when there is
            one) to the prompt of final decodes, so that fillers are transcribed; partial
            decodes are unchanged. On by default: filler recall on the bundled and
            generated English 0.30 -> 0.94 (tiny.en) and 0.61 -> 0.97 (base), Dutch (base)
            0.30 -> 0.65; WER without fillers 0.089 -> 0.126 (tiny.en, one decoder loop),
            0.073 -> 0.057 (base); bench/bench_fillers.py.

    Raises:
        ModelUnavailable: The model cannot be found or loaded.
    """

    def __init__(
        self,
        model: ResolvedModel | str = "tiny.en",
        *,
        cpu_threads: int = 2,
        num_workers: int = 1,
        compute_type: str = "int8",
        device: str = "cpu",
        encode_mode: EncodeMode = "exact",
        beam_size_partial: int = 1,
        beam_size_final: int = 5,
        filler_prompt: bool | None = None,
    ) -> None:
        try:  # heavy import, only when a model is wanted
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as exc:  # a core dependency: a broken or partial install
            raise ModelUnavailable(
                f"speech recognition needs {exc.name or 'faster_whisper'}, which is not"
                " installed: pip install 'faster-whisper>=1.1' (or reinstall sparring)"
            ) from None

        resolved = resolve_model(model) if isinstance(model, str) else model
        if resolved is None:
            raise ModelUnavailable("model 'none' means recognition is off; nothing to load")
        self.model_info = resolved
        self.encode_mode: EncodeMode = encode_mode
        self.beam_size_partial = beam_size_partial
        self.beam_size_final = beam_size_final
        self.cpu_threads = cpu_threads
        self.num_workers = num_workers
        self.device = device
        self.compute_type = compute_type
        log.info(
            "loading Whisper model %s from %s (%s, %s, %d threads x %d workers)",
            resolved.spec,
            resolved.source,
            device,
            compute_type,
            cpu_threads,
            num_workers,
        )
        started = time.perf_counter()
        try:
            self._model = WhisperModel(
                resolved.path,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=num_workers,
                local_files_only=not resolved.is_hub,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load model {resolved.spec!r}: {exc}") from exc
        self.load_s = time.perf_counter() - started
        self.multilingual: bool = bool(self._model.model.is_multilingual)
        # None: prime for fillers where it pays. On base it writes fillers (52% -> 97%) and
        # lowers WER; on tiny.en it writes them too (30% -> 97%) but raises WER about
        # 1.3x, past the streaming goal, so English-only models leave it off by default.
        self.filler_prompt: bool = self.multilingual if filler_prompt is None else filler_prompt
        self._tokenizer_class = Tokenizer
        self._tokenizers: dict[str, Tokenizer] = {}
        log.info(
            "loaded Whisper model %s (%s) in %.2f s",
            resolved.spec,
            "multilingual" if self.multilingual else "English-only",
            self.load_s,
        )

    def warm_up(self, calls: int = 2) -> None:
        """Run a few throwaway decodes so the first real job does not pay CTranslate2's
        first-call set-up (measured: a cold first final took 1.9 s instead of 0.3 s)."""
        noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE_HZ).astype(np.float32)
        for _ in range(calls):
            self.recognize(0.1 * noise, language="en", final=True)

    @property
    def name(self) -> str:
        """The model spec this recognizer was loaded from."""
        return self.model_info.spec

    def supports(self, language: str) -> bool:
        """Tell whether the model can transcribe ``language``."""
        return language == "en" or (
            self.multilingual and language in self._model.supported_languages
        )

    def recognize(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        final: bool,
        prompt: str | None = None,
        word_timestamps: bool = True,
        greedy: bool = False,
    ) -> Recognition:
        """Recognise one utterance (blocking; call from a worker thread).

        Args:
            audio: Float32 mono samples at 16 kHz, the whole utterance so far.
            language: Language to force (``en``, ``nl``...), or None to detect.
            final: True for the end-of-utterance decode (``beam_size_final``).
            prompt: Text that preceded the utterance, to condition the decoder.
            word_timestamps: Align words to the audio (cross-attention; a few ms).
            greedy: Decode with beam 1 even a final (the pool asks when far behind: about
                half the decoder time, for a higher WER).

        Returns:
            The recognition; ``text`` is empty for silence, noise and rejected hypotheses.
        """
        started = time.perf_counter()
        audio = _mono(audio)
        duration_s = len(audio) / SAMPLE_RATE_HZ

        def empty(reason: str, **fields: float | str) -> Recognition:
            return Recognition(
                text="",
                duration_s=duration_s,
                compute_s=time.perf_counter() - started,
                rejected=reason,
                **fields,  # type: ignore[arg-type]
            )

        if duration_s < 0.1 or rms_dbfs(audio) < QUIET_RMS_DBFS:
            return empty("quiet", language=language or "en", no_speech_prob=1.0)

        model = self._model
        features = model.feature_extractor(audio)
        n_frames = features.shape[-1] - 1
        encoder_output = model.encode(self._window(features[:, :n_frames]))

        language_probability = 1.0
        if not self.multilingual:
            language = "en"
        elif language is None:
            token, language_probability = model.model.detect_language(encoder_output)[0][0]
            language = token[2:-2]
        tokenizer = self._tokenizer(language)

        previous = self._prompt_tokens(tokenizer, prompt, language, final)
        prompt_tokens = model.get_prompt(tokenizer, previous, without_timestamps=True)
        beam = self.beam_size_final if final and not greedy else self.beam_size_partial
        max_new = int(duration_s * TOKENS_PER_SECOND_MAX) + TOKENS_EXTRA
        max_length = min(len(prompt_tokens) + max_new, model.max_length)
        tokens, avg_logprob, no_speech_prob = self._decode(
            encoder_output, prompt_tokens, tokenizer, beam, max_length
        )
        if final and self._cut_short(tokens, avg_logprob, duration_s, n_frames):
            # The truncated encoder sometimes makes the decoder stop after a few words of a
            # long utterance ("We connect it." for 17 s of speech); the full window does not.
            padded = model.encode(_pad_frames(features[:, :n_frames], FULL_WINDOW_FRAMES))
            retry = self._decode(padded, prompt_tokens, tokenizer, beam, max_length)
            if retry[1] > avg_logprob:
                tokens, avg_logprob, no_speech_prob = retry
                encoder_output = padded
        raw_text = tokenizer.decode(tokens).strip()
        compression = compression_ratio(raw_text)
        stats = {
            "language": language,
            "language_probability": float(language_probability),
            "avg_logprob": float(avg_logprob),
            "no_speech_prob": no_speech_prob,
            "compression_ratio": compression,
        }

        primed = final and self.filler_prompt and language in FILLER_PRIMER
        reason = rejection(raw_text, avg_logprob, no_speech_prob, primed=primed)
        if reason:
            return empty(reason, **stats)

        # Loop guard: collapse back-to-back repeated phrases, then re-tokenise.
        raw_words = raw_text.split()
        kept_words = clean_hypothesis(raw_words, _loop_key)
        if primed:
            kept_words = _trim_fuzzy_replay(kept_words)
        if len(kept_words) != len(raw_words):
            log.debug(
                "collapsed a repetition loop: %d words to %d", len(raw_words), len(kept_words)
            )
            raw_text = " ".join(kept_words)
            tokens = tokenizer.encode(" " + raw_text)

        if word_timestamps:
            words = self._align(tokenizer, tokens, encoder_output, n_frames, duration_s)
        else:
            words = _spread_words(kept_words, duration_s)
        text = " ".join(w.w for w in words) if words else raw_text
        return Recognition(
            text=text,
            words=words,
            duration_s=duration_s,
            compute_s=time.perf_counter() - started,
            **stats,  # type: ignore[arg-type]
        )

    def detect_language(self, audio: np.ndarray) -> tuple[str | None, float]:
        """Detect the spoken language (blocking).

        Args:
            audio: Float32 mono samples at 16 kHz; a few seconds of speech suffice.

        Returns:
            ``(language, probability)``; ``(None, 0.0)`` for audio too quiet to hold speech.
            English-only models always answer ``("en", 1.0)``.
        """
        if not self.multilingual:
            return "en", 1.0
        audio = _mono(audio)
        if len(audio) < SAMPLE_RATE_HZ // 10 or rms_dbfs(audio) < QUIET_RMS_DBFS:
            return None, 0.0
        model = self._model
        features = model.feature_extractor(audio[: 30 * SAMPLE_RATE_HZ])
        # Language detection runs once per session: use the full window it was trained on.
        encoder_output = model.encode(_pad_frames(features[:, :-1], FULL_WINDOW_FRAMES))
        token, probability = model.model.detect_language(encoder_output)[0][0]
        return token[2:-2], float(probability)

    def _decode(
        self,
        encoder_output: object,
        prompt_tokens: list[int],
        tokenizer: object,
        beam: int,
        max_length: int,
    ) -> tuple[list[int], float, float]:
        """One decode: the text tokens, their average log probability, no-speech prob."""
        from faster_whisper.transcribe import get_suppressed_tokens

        result = self._model.model.generate(
            encoder_output,
            [prompt_tokens],
            beam_size=beam,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1]) or ()),
        )[0]
        eot = tokenizer.eot  # type: ignore[attr-defined]
        tokens = [t for t in result.sequences_ids[0] if t < eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        return tokens, float(avg_logprob), float(result.no_speech_prob)

    def _cut_short(
        self, tokens: list[int], avg_logprob: float, duration_s: float, n_frames: int
    ) -> bool:
        """Whether a final decode of a truncated window looks broken: unsure, or far fewer
        tokens than the audio's length holds (speech runs at 2-4 tokens a second)."""
        if self.encode_mode != "exact" or n_frames >= FULL_WINDOW_FRAMES - EXACT_TAIL_FRAMES:
            return False
        if duration_s < SHORT_DECODE_MIN_S:  # noise and breaths: not worth the 30 s window
            return False
        return avg_logprob < LOGPROB_FLOOR or len(tokens) < SHORT_DECODE_TOKENS_PER_S * duration_s

    def _prompt_tokens(
        self, tokenizer: object, prompt: str | None, language: str, final: bool
    ) -> list[int]:
        """Tokens of the prompt: the filler primer (finals only, when on) and then the
        caller's text, cut from the left so that the primer is never cut."""
        primer = FILLER_PRIMER.get(language) if final and self.filler_prompt else None
        primer_tokens = tokenizer.encode(" " + primer) if primer else []
        budget = MAX_PROMPT_TOKENS - len(primer_tokens)
        text = prompt.strip() if prompt else ""
        previous = tokenizer.encode(" " + text)[-budget:] if text and budget > 0 else []
        return primer_tokens + previous

    def _window(self, features: np.ndarray) -> np.ndarray:
        n_frames = features.shape[-1]
        if self.encode_mode == "pad30" or n_frames >= FULL_WINDOW_FRAMES:
            return _pad_frames(features[:, :FULL_WINDOW_FRAMES], FULL_WINDOW_FRAMES)
        target = max(EXACT_MIN_FRAMES, n_frames + EXACT_TAIL_FRAMES)
        target = min(FULL_WINDOW_FRAMES, target + (-target) % 2)  # the encoder strides by 2
        return _pad_frames(features, target)

    def _tokenizer(self, language: str) -> object:
        tokenizer = self._tokenizers.get(language)
        if tokenizer is None:
            tokenizer = self._tokenizer_class(
                self._model.hf_tokenizer,
                self.multilingual,
                task="transcribe",
                language=language,
            )
            self._tokenizers[language] = tokenizer
        return tokenizer

    def _align(
        self,
        tokenizer: object,
        tokens: list[int],
        encoder_output: object,
        n_frames: int,
        duration_s: float,
    ) -> tuple[Word, ...]:
        from faster_whisper.transcribe import merge_punctuations

        if not tokens:
            return ()
        alignment = self._model.find_alignment(tokenizer, [tokens], encoder_output, n_frames)
        if not alignment or not alignment[0]:
            return ()
        timings = alignment[0]
        merge_punctuations(timings, PREPEND_PUNCTUATION, APPEND_PUNCTUATION)
        words = []
        for timing in timings:
            text = timing["word"].strip()
            if not text:
                continue
            start_s = min(max(0.0, float(timing["start"])), duration_s)
            end_s = min(max(start_s, float(timing["end"])), duration_s)
            words.append(
                Word(text, round(start_s, 3), round(end_s, 3), float(timing["probability"]))
            )
        return _clip_long_words(words)


def _clip_long_words(words: list[Word]) -> tuple[Word, ...]:
    """Shorten implausibly long words by moving their start (alignment smears a word
    over the silence before it, as faster-whisper's own heuristic notes)."""
    durations = [w.end_s - w.start_s for w in words if w.end_s > w.start_s]
    if not durations:
        return tuple(words)
    max_duration_s = 2 * min(WORD_MEDIAN_CAP_S, float(np.median(durations)))
    return tuple(
        Word(w.w, round(w.end_s - max_duration_s, 3), w.end_s, w.probability)
        if w.end_s - w.start_s > max_duration_s
        else w
        for w in words
    )


def rms_dbfs(audio: np.ndarray) -> float:
    """Root-mean-square level of float samples in dB relative to full scale."""
    if len(audio) == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf


def compression_ratio(text: str) -> float:
    """zlib compression ratio of ``text``; Whisper treats above 2.4 as a loop."""
    if not text:
        return 0.0
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


def rejection(
    text: str, avg_logprob: float, no_speech_prob: float, *, primed: bool = False
) -> str | None:
    """Decide whether a hypothesis is no speech or a hallucination.

    Args:
        text: The decoded text.
        avg_logprob: Average token log probability.
        no_speech_prob: Whisper's no-speech probability.
        primed: The prompt began with ``FILLER_PRIMER``, which lowers ``no_speech_prob``
            on noise; the unsure-decode threshold is then ``PRIMED_NO_SPEECH_PROB``.

    Returns:
        The reason to blank it (``no_speech``, ``low_confidence``, ``hallucination``), or None.
    """
    normalised = " ".join(word_key(w) for w in text.split() if word_key(w))
    if not normalised:
        return "no_speech"
    if no_speech_prob > NO_SPEECH_PROB_ALONE:
        return "no_speech"
    unsure_no_speech = PRIMED_NO_SPEECH_PROB if primed else NO_SPEECH_PROB
    if no_speech_prob > unsure_no_speech and avg_logprob < LOGPROB_FOR_NO_SPEECH:
        return "no_speech"
    if avg_logprob < LOGPROB_FLOOR:
        return "low_confidence"
    if normalised in KNOWN_HALLUCINATIONS and (
        no_speech_prob > HALLUCINATION_NO_SPEECH_PROB or avg_logprob < LOGPROB_FOR_NO_SPEECH
    ):
        return "hallucination"
    if all(word in HESITATIONS for word in normalised.split()) and (
        no_speech_prob > FILLER_ONLY_NO_SPEECH_PROB or avg_logprob < LOGPROB_FOR_NO_SPEECH
    ):
        return "hallucination"
    return None


def _trim_fuzzy_replay(words: list[str]) -> list[str]:
    """Cut a primed hypothesis where it starts over with a near copy of its beginning.

    With the filler primer, tiny.en sometimes decodes the utterance again after the audio
    ends, with a few words changed ("... before the end of the corridor? What would need
    to change ... beforehand on the corridor?"), which the exact-match guards miss.
    """
    keys = [_loop_key(w) for w in words]
    n = len(keys)
    # The replay follows the words it copies: it starts at or after the middle.
    for start in range(max(REPLAY_MIN_WORDS, (n + 1) // 2), n - REPLAY_MIN_WORDS + 1):
        tail = keys[start:]
        head = keys[: len(tail)]
        if difflib.SequenceMatcher(None, head, tail, autojunk=False).ratio() >= REPLAY_SIMILARITY:
            return words[:start]
    return words


def _loop_key(word: str) -> str:
    """``word_key`` with every hesitation mapped to one key, so that a loop with different
    fillers in it ("cheaper to, um, cheaper to, uh, cheaper to") is still one loop."""
    key = word_key(word)
    return "<hesitation>" if key in HESITATIONS else key


def _mono(audio: np.ndarray) -> np.ndarray:
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono (1-D), got shape {audio.shape}")
    return np.ascontiguousarray(audio, dtype=np.float32)


def _pad_frames(features: np.ndarray, n_frames: int) -> np.ndarray:
    """Pad log-mel features to ``n_frames`` with the clip's own silence level.

    The floor (``max - 8`` after Whisper's normalisation) is what zero samples would give;
    padding with it instead of 0.0 made the truncated encoder stop cleanly after the
    speech (with 0.0 and a 0.5 s tail, tiny.en repeated the utterance on 1 of 5 clips).
    """
    if features.shape[-1] >= n_frames:
        return np.ascontiguousarray(features[:, :n_frames])
    floor = float(features.min()) if features.size else 0.0
    return np.pad(features, ((0, 0), (0, n_frames - features.shape[-1])), constant_values=floor)


def _spread_words(words: list[str], duration_s: float) -> tuple[Word, ...]:
    """Words without alignment: spread evenly over the audio (times are estimates)."""
    if not words:
        return ()
    step_s = duration_s / len(words)
    return tuple(
        Word(w, round(i * step_s, 3), round((i + 1) * step_s, 3)) for i, w in enumerate(words)
    )
