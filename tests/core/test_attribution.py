"""Attribution on real voices: one voice heard twice, a real overlap, background talk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from client.stream import read_audio
from server.core.attribution import Attribution, Heard, MicStats
from server.core.party import FrameInfo, frame_levels_dbfs
from server.core.vad import FRAME_SAMPLES, FrameVad

CALLS = Path(__file__).resolve().parents[2] / "client" / "calls"


def voice(party: str, start_s: float, seconds: float) -> np.ndarray:
    samples = read_audio(CALLS / f"good.{party}.flac").samples.astype(np.float64)
    return samples[int(start_s * 16000) : int((start_s + seconds) * 16000)]


def frames(x: np.ndarray) -> list[FrameInfo]:
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
    n = len(pcm) // (2 * FRAME_SAMPLES)
    levels = frame_levels_dbfs(pcm, n)
    vad = FrameVad()
    out = []
    for i in range(n):
        chunk = pcm[i * 2 * FRAME_SAMPLES : (i + 1) * 2 * FRAME_SAMPLES]
        out.append(FrameInfo(chunk, levels[i], vad.is_voiced(chunk)))
    return out


def delayed(x: np.ndarray, ms: float, db: float) -> np.ndarray:
    shift = int(16 * ms)
    return np.concatenate((np.zeros(shift), x[:-shift])) * 10 ** (db / 20)


def run(rep: list[FrameInfo], customer: list[FrameInfo]) -> list[tuple[Heard, Heard]]:
    a = Attribution()
    return [
        a.step(j, r.voiced, c.voiced, r, c)
        for j, (r, c) in enumerate(zip(rep, customer, strict=True))
    ]


def share(heard: list[tuple[Heard, Heard]], side: int, what: Heard) -> float:
    voiced = [h[side] for h in heard if h[side] is not Heard.SILENCE]
    return sum(1 for h in voiced if h is what) / max(1, len(voiced))


def test_attribution_one_voice_heard_twice_is_a_leak() -> None:
    rep = voice("rep", 0.0, 6.0)  # the rep speaks; the customer's microphone hears it
    heard = run(frames(rep), frames(delayed(rep, 5, -15)))
    assert share(heard, 0, Heard.OWN) > 0.95
    assert share(heard, 1, Heard.LEAK) > 0.9


def test_attribution_two_voices_at_once_stay_an_overlap() -> None:
    # Both talk for 6 s, each microphone hearing the other 20 dB down. Where both are
    # actually voicing (each voice loud on its own microphone), both are heard speaking;
    # in a dip of one voice the other shows through, and that frame is the other's.
    rep, customer = voice("rep", 0.0, 6.0), voice("customer", 6.0, 6.0)
    heard = run(frames(rep + delayed(customer, 5, -20)), frames(customer + delayed(rep, 5, -20)))
    loud = [
        i
        for i, (r, c) in enumerate(zip(frames(rep), frames(customer), strict=True))
        if r.level_dbfs > -32 and c.level_dbfs > -32
    ]
    assert len(loud) > 20
    both = sum(1 for i in loud if heard[i] == (Heard.OWN, Heard.OWN))
    assert both / len(loud) > 0.85
    assert not [h for h in heard if h == (Heard.LEAK, Heard.LEAK)]


def test_attribution_talk_far_below_the_partys_voice_is_background() -> None:
    own = voice("rep", 0.0, 8.0)  # the rep's own voice first: its level is learned
    neighbour = voice("customer", 6.0, 8.0) * 10 ** (-15 / 20)  # then only a quiet neighbour
    silent = np.zeros(len(own) + len(neighbour))
    heard = run(frames(np.concatenate((own, neighbour))), frames(silent))
    first, then = heard[: len(own) // FRAME_SAMPLES], heard[len(own) // FRAME_SAMPLES + 20 :]
    assert share(first, 0, Heard.OWN) > 0.95
    assert share(then, 0, Heard.BACKGROUND) > 0.9


def test_attribution_remembers_what_each_frame_held() -> None:
    rep = voice("rep", 0.0, 3.0)
    a = Attribution()
    for j, (r, c) in enumerate(zip(frames(rep), frames(delayed(rep, 5, -15)), strict=True)):
        a.step(j, r.voiced, c.voiced, r, c)
    held = a.heard(False, 0, 100)
    assert Heard.LEAK in held and Heard.OWN not in held
    assert a.heard(True, 10_000, 3) == [Heard.SILENCE] * 3  # beyond what it saw


def test_attribution_learns_the_loudest_voice_not_the_talk_heard_before_it() -> None:
    # A neighbour 15 dB down fills the first 10 s, before the party says a word: the party's
    # own level is their voice once it is heard (4 s of it), and the neighbour after it is
    # background, not the median of all that was heard.
    def neighbour(start_s: float, seconds: float) -> np.ndarray:
        return voice("customer", start_s, seconds) * 10 ** (-15 / 20)

    own = voice("customer", 39.3, 4.0)
    signal = np.concatenate((neighbour(18.5, 10.0), own, neighbour(57.3, 6.0)))
    heard = run(frames(signal), frames(np.zeros(len(signal))))
    first, n = round(10.0 / 0.03), len(own) // FRAME_SAMPLES
    own_part, after = heard[first : first + n], heard[first + n + 20 :]
    assert share(own_part, 0, Heard.OWN) > 0.95
    assert share(after, 0, Heard.BACKGROUND) > 0.9


def test_attribution_a_voice_ends_where_the_babble_under_it_goes_on() -> None:
    # The rep's two turns (0.5-4.2 s and 13.0-17.5 s) over a neighbour 15 dB down who talks
    # on from 10 s: the 600 ms level mean would hold the voice ~450 ms past its end.
    rep = voice("rep", 0.0, 19.0) + voice("customer", 47.3, 19.0) * 10 ** (-15 / 20)
    heard = run(frames(rep), frames(np.zeros(len(rep))))
    end = round(17.49 / 0.03)
    tail = [h[0] for h in heard[end : end + 17]]
    assert tail.count(Heard.OWN) <= 6
    # The turn itself stays the rep's (a gap between words, where only the neighbour is
    # heard, may go to the background).
    assert share(heard[round(13.05 / 0.03) : end], 0, Heard.OWN) > 0.9


def test_attribution_counts_how_much_of_the_others_speech_a_microphone_talks_through() -> None:
    # The rep speaks twice; the customer's microphone carries ...
    rep = np.concatenate((voice("rep", 0.0, 4.2), voice("rep", 12.9, 4.6)))
    quiet = run_stats(frames(rep), frames(np.zeros(len(rep))))
    loud = run_stats(frames(rep), frames(voice("customer", 18.5, 8.8) * 10 ** (-5 / 20)))
    assert quiet.talk_over_share == 0.0  # ... nothing
    assert loud.talk_over_share is not None and loud.talk_over_share > 0.9  # ... talk


def run_stats(rep: list[FrameInfo], customer: list[FrameInfo]) -> MicStats:
    a = Attribution()
    for j, (r, c) in enumerate(zip(rep, customer, strict=True)):
        a.step(j, r.voiced, c.voiced, r, c)
    return a.customer.stats()


def test_attribution_the_tail_of_a_leak_and_the_pause_after_it_are_not_the_listener() -> None:
    # The customer speaks, then the rep; the customer's microphone hears the rep 15 dB down,
    # 5 ms late. Where the rep's microphone has fallen silent, the customer's still holds the
    # late, quiet tail of the copy, and its VAD bridges the pause after it: neither is the
    # customer, although their own words of a few seconds ago are in the level mean.
    customer, rep = voice("customer", 4.5, 4.5), voice("rep", 0.0, 4.2)
    rep_mic = frames(np.concatenate((delayed(customer, 5, -15), rep)))
    customer_mic = frames(np.concatenate((customer, delayed(rep, 5, -15))))
    a = Attribution()
    heard = [
        a.step(j, r.voiced, c.voiced, r, c)
        for j, (r, c) in enumerate(zip(rep_mic, customer_mic, strict=True))
    ]
    assert heard[-1][1] is Heard.LEAK
    silence = FrameInfo(bytes(2 * FRAME_SAMPLES), -100.0, False)
    tail = FrameInfo(bytes(2 * FRAME_SAMPLES), -58.0, True)  # quiet, still voiced
    j = len(heard)
    assert a.step(j, False, True, silence, tail) == (Heard.SILENCE, Heard.LEAK)
    for k in range(1, 9):  # the pause that the VAD's hangover bridges
        assert a.step(j + k, False, True, silence, silence)[1] is Heard.LEAK


def pause_between(first: np.ndarray, then: np.ndarray, *, then_is_other: bool) -> list[Heard]:
    """The customer's microphone over their words, a 210 ms pause (which the VAD bridges:
    labelled speech) and what follows: the rep's reply (`then_is_other`) or more of their
    own words; one stereo device, each microphone hearing the other 6 dB down, 1 ms late.
    Returns what the customer's microphone held in the pause."""
    pause = np.zeros(7 * FRAME_SAMPLES)
    after_on_rep_mic = then if then_is_other else delayed(then, 1, -6)
    after_on_customer_mic = delayed(then, 1, -6) if then_is_other else then
    rep_mic = frames(np.concatenate((delayed(first, 1, -6), pause, after_on_rep_mic)))
    customer_mic = frames(np.concatenate((first, pause, after_on_customer_mic)))
    in_pause = range(len(first) // FRAME_SAMPLES, len(first) // FRAME_SAMPLES + 7)
    a = Attribution()
    heard = [
        a.step(j, r.voiced, c.voiced or j in in_pause, r, c, rep_mic[j:], customer_mic[j:])
        for j, (r, c) in enumerate(zip(rep_mic, customer_mic, strict=True))
    ]
    return [heard[j][1] for j in in_pause]


def test_attribution_a_pause_that_ends_in_the_other_party_s_reply_is_nobody_s() -> None:
    customer = voice("customer", 4.5, 2.1)
    assert set(pause_between(customer, voice("rep", 0.5, 1.5), then_is_other=True)) == {
        Heard.SILENCE
    }
    # The same pause inside the customer's own words stays theirs.
    assert set(pause_between(customer, voice("customer", 7.0, 1.5), then_is_other=False)) == {
        Heard.OWN
    }


def test_attribution_follows_a_leak_path_that_moves() -> None:
    # Once a leak is found, only the lags around its peak are followed; when the copy is
    # gone from there (the laptop was moved: 2 ms became 12 ms, mid-sentence: 2.4 s into
    # 4 s, within 2.5 s of unbroken speech), every lag is searched again.
    rep = voice("rep", 0.0, 4.0)
    cut = 38400
    quiet = np.concatenate((delayed(rep, 2, -15)[:cut], delayed(rep, 12, -15)[cut:]))
    heard = run(frames(rep), frames(quiet))
    moved = cut // FRAME_SAMPLES
    assert share(heard[:moved], 1, Heard.LEAK) > 0.95
    assert share(heard[moved:], 1, Heard.LEAK) > 0.95
    assert share(heard, 0, Heard.OWN) > 0.95
