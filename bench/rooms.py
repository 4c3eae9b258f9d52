"""A small deterministic room simulator: what each party's microphone hears in a real room.

Turns a bundled two-party call (`client/calls/<name>.rep.flac`, `<name>.customer.flac`,
truth in `<name>.json`; 16 kHz mono int16) into the rep's and the customer's microphone
signals under one condition (issue 8, "Hear the right speaker in real rooms"). Who really
spoke, and when, does not change: the call's truth JSON holds for every condition.

Conditions (`conditions()` lists them all, `describe(id)` says each in one line):

- `clean`: each microphone hears only its own party (the bundled tracks).
- `leak-<X>db-<D>ms`: each microphone also hears the other party's voice, X dB below that
  voice on its own microphone (active speech level against active speech level), arriving
  D ms later, band-limited and with a few early reflections (a shared room, or a laptop
  speaker playing the video call). X in 10, 15, 20, 25; D in 2, 8.
- `noise-<kind>-<S>db` on the customer's microphone only: `pink` (1/f), `babble` (six
  tracks, four different voices, of other bundled calls, each shifted in time) or `keys`
  (keyboard-like clicks: short broadband press/release bursts at random typing intervals,
  in typing bursts with pauses), at S = 20, 10, 5 dB SNR. SNR = the party's active speech
  level (its voiced 30 ms frames) over the noise's active level (its non-silent frames: all
  of them for pink and babble, the frames with a click for keys).
- `background-<X>db`: another pair's call (both tracks of another bundled call, shifted in
  time, looped, room-coloured) in the background of the rep's microphone, X dB below the
  rep's voice (active levels), X in 10, 20.
- `stereo-6db`: the one-device mode: one 2-channel signal, left = rep microphone, right =
  customer microphone, each hearing the other voice 6 dB down, 3 ms later (two
  microphones a metre apart).
- Every id with `@48k`: the same signals resampled to 48 kHz with soxr (the server
  resamples to 16 kHz itself). Noise and offsets are the same as at 16 kHz.

Everything is computed at 16 kHz in float64 from seeds derived from the call's name and
the condition (never from the clock), mixed, resampled if asked, then rounded and clipped
to int16. `simulate()` returns a `Mics`; `python bench/rooms.py` measures every level,
SNR and delay back from the simulated signals and prints it against the target.

    .venv/bin/python bench/rooms.py                  # measure back every condition on `good`
    .venv/bin/python bench/rooms.py --call pushy --only leak-15db-8ms noise-keys-5db@48k
    .venv/bin/python bench/rooms.py --write /tmp/rooms --only leak-10db-2ms   # listen to it

Only numpy, soxr and soundfile (through `client.stream.read_audio`).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: bench/ is sys.path[0], not the repo root
    sys.path.insert(0, str(ROOT))

from client.stream import read_audio  # noqa: E402

CALLS_DIR = ROOT / "client" / "calls"
BASE_RATE_HZ = 16000
RATES_HZ = (16000, 48000)
LEAK_DB = (10, 15, 20, 25)
LEAK_DELAYS_MS = (2, 8)
NOISE_KINDS = ("pink", "babble", "keys")
NOISE_SNR_DB = (20, 10, 5)
BACKGROUND_DB = (10, 20)
STEREO_DB = 6
STEREO_DELAY_MS = 3.0
FRAME_S = 0.03  # level frames: the server's VAD frame
ACTIVE_RANGE_DB = 40.0  # frames within this of the loudest (99th pct) count as active
# Calls whose tracks make the babble and the neighbouring pair; the call itself is skipped.
BABBLE_CALLS = ("closed", "nl_good", "nl_pushy", "nl_closed", "good", "pushy")
BACKGROUND_CALLS = ("closed", "good", "pushy")


# --- conditions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One room condition.

    Attributes:
        id: e.g. `leak-15db-8ms`, `noise-pink-10db@48k`.
        kind: clean | leak | noise | background | stereo.
        rate_hz: the rate of the returned signals (16000 or 48000).
        level_db: leak / background / stereo: dB below the voice it is compared with.
        delay_ms: leak / stereo: arrival delay of the other voice.
        noise: noise kind (pink | babble | keys) for `noise`.
        snr_db: noise: SNR on the customer's microphone.
    """

    id: str
    kind: str
    rate_hz: int = BASE_RATE_HZ
    level_db: float | None = None
    delay_ms: float | None = None
    noise: str | None = None
    snr_db: float | None = None

    @property
    def base_id(self) -> str:
        """The id without its rate suffix (the 16 kHz condition it resamples)."""
        return self.id.split("@")[0]

    @property
    def stereo(self) -> bool:
        return self.kind == "stereo"

    @property
    def description(self) -> str:
        rate = "" if self.rate_hz == BASE_RATE_HZ else f"; resampled to {self.rate_hz // 1000} kHz"
        if self.kind == "clean":
            text = "each microphone hears only its own party"
        elif self.kind == "leak":
            text = (
                f"each microphone also hears the other party {self.level_db:g} dB down, "
                f"{self.delay_ms:g} ms later, band-limited with early reflections"
            )
        elif self.kind == "noise":
            what = {
                "pink": "pink (1/f) noise",
                "babble": "babble of 6 other-call tracks (4 voices)",
                "keys": "keyboard clicks in typing bursts",
            }[self.noise or ""]
            text = f"{what} on the customer's microphone at {self.snr_db:g} dB SNR"
        elif self.kind == "background":
            text = (
                f"another pair's call in the background of the rep's microphone, "
                f"{self.level_db:g} dB below the rep's voice"
            )
        else:
            text = (
                f"one device, 2 channels (left rep, right customer), each hearing the other "
                f"voice {self.level_db:g} dB down, {self.delay_ms:g} ms later"
            )
        return text + rate


def _base_conditions() -> list[Condition]:
    out = [Condition("clean", "clean")]
    for db in LEAK_DB:
        for ms in LEAK_DELAYS_MS:
            out.append(Condition(f"leak-{db}db-{ms}ms", "leak", level_db=db, delay_ms=ms))
    for kind in NOISE_KINDS:
        for snr in NOISE_SNR_DB:
            out.append(Condition(f"noise-{kind}-{snr}db", "noise", noise=kind, snr_db=snr))
    for db in BACKGROUND_DB:
        out.append(Condition(f"background-{db}db", "background", level_db=db))
    out.append(
        Condition(f"stereo-{STEREO_DB}db", "stereo", level_db=STEREO_DB, delay_ms=STEREO_DELAY_MS)
    )
    return out


@functools.cache
def _all() -> dict[str, Condition]:
    out: dict[str, Condition] = {}
    for rate in RATES_HZ:
        for c in _base_conditions():
            cid = c.id if rate == BASE_RATE_HZ else f"{c.id}@{rate // 1000}k"
            out[cid] = Condition(cid, c.kind, rate, c.level_db, c.delay_ms, c.noise, c.snr_db)
    return out


def conditions() -> list[str]:
    """Every condition id: the 21 at 16 kHz, then the same 21 with `@48k`."""
    return list(_all())


def condition(cid: str) -> Condition:
    """The condition with id `cid` (KeyError with the known ids if there is none)."""
    try:
        return _all()[cid]
    except KeyError:
        raise KeyError(f"unknown condition {cid!r}; known: {', '.join(_all())}") from None


def describe(cid: str) -> str:
    """One line that says what the condition is."""
    return condition(cid).description


# --- calls -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """A bundled call: both clean tracks (float64, -1..1, 16 kHz) and its truth."""

    name: str
    rep: np.ndarray
    customer: np.ndarray
    truth: dict


@functools.cache
def load_call(name: str) -> Call:
    """Reads `client/calls/<name>.{rep,customer}.flac` and `<name>.json` (cached)."""
    rep = read_audio(CALLS_DIR / f"{name}.rep.flac")
    customer = read_audio(CALLS_DIR / f"{name}.customer.flac")
    if rep.rate_hz != BASE_RATE_HZ or customer.rate_hz != BASE_RATE_HZ:
        raise ValueError(f"{name}: bundled calls are 16 kHz")
    truth = json.loads((CALLS_DIR / f"{name}.json").read_text())
    n = min(len(rep.samples), len(customer.samples))
    return Call(
        name,
        rep.samples[:n].astype(np.float64) / 32768,
        customer.samples[:n].astype(np.float64) / 32768,
        truth,
    )


# --- measuring -------------------------------------------------------------------------


def frame_powers(x: np.ndarray, rate_hz: int = BASE_RATE_HZ) -> np.ndarray:
    """Mean square of each whole 30 ms frame."""
    n = round(rate_hz * FRAME_S)
    usable = len(x) // n * n
    return np.mean(np.square(x[:usable].reshape(-1, n)), axis=1)


def active_mask(x: np.ndarray, rate_hz: int = BASE_RATE_HZ) -> np.ndarray:
    """Frames within 40 dB of the loudest (99th percentile) and above -100 dBFS."""
    p = frame_powers(x, rate_hz)
    if not p.size or p.max() <= 0:
        return np.zeros(p.shape, dtype=bool)
    top = np.percentile(p, 99)
    return (p > top * 10 ** (-ACTIVE_RANGE_DB / 10)) & (p > 1e-10)


def active_level_db(x: np.ndarray, rate_hz: int = BASE_RATE_HZ) -> float:
    """Power over the active 30 ms frames, dB re full scale (a simplified P.56 level)."""
    p = frame_powers(x, rate_hz)
    mask = active_mask(x, rate_hz)
    if not mask.any():
        return -np.inf
    return float(10 * np.log10(np.mean(p[mask])))


def delay_ms(
    reference: np.ndarray, delayed: np.ndarray, rate_hz: int = BASE_RATE_HZ, max_ms: float = 20.0
) -> float:
    """Lag of `delayed` behind `reference` at the cross-correlation peak (FFT), in ms."""
    n = len(reference) + len(delayed)
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(delayed, size) * np.conj(np.fft.rfft(reference, size)), size)
    max_lag = round(rate_hz * max_ms / 1000)
    lags = np.r_[0 : max_lag + 1, -max_lag:0]
    values = np.r_[xc[: max_lag + 1], xc[-max_lag:]]
    return float(lags[int(np.argmax(values))] * 1000 / rate_hz)


# --- signal pieces (16 kHz, float64) -----------------------------------------------------


def seed_for(*parts: str) -> int:
    """A stable seed from names (crc32; Python's hash() is salted per process)."""
    return zlib.crc32("/".join(parts).encode())


def _fft_convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    n = len(x) + len(kernel) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(kernel, size), size)
    return y[: len(x)]


def _sinc_lowpass(cut_hz: float, taps: int, rate_hz: int = BASE_RATE_HZ) -> np.ndarray:
    t = np.arange(taps) - (taps - 1) / 2
    h = 2 * cut_hz / rate_hz * np.sinc(2 * cut_hz / rate_hz * t) * np.blackman(taps)
    return h / h.sum()


@functools.cache
def room_kernel(delay_ms_: float, rate_hz: int = BASE_RATE_HZ) -> np.ndarray:
    """A causal impulse response: direct sound band-limited to ~200-4000 Hz arriving after
    `delay_ms_`, plus four weaker early reflections (+2.6, +5.3, +9.1, +14.7 ms)."""
    taps = 63  # odd: the band-pass is linear phase with a whole-sample group delay
    band = _sinc_lowpass(4000, taps, rate_hz) - _sinc_lowpass(200, taps, rate_hz)
    centre = (taps - 1) // 2
    direct = round(rate_hz * delay_ms_ / 1000)
    reflections = ((0.0, 1.0), (2.6, -0.45), (5.3, 0.3), (9.1, -0.2), (14.7, 0.12))
    length = direct + round(rate_hz * 0.016) + taps
    kernel = np.zeros(length)
    for extra_ms, gain in reflections:
        at = direct + round(rate_hz * extra_ms / 1000)
        start = at - centre  # place the band-pass's centre tap at the arrival time
        lo = max(0, -start)
        kernel[start + lo : start + taps] += gain * band[lo:]
    return kernel


def room(x: np.ndarray, delay_ms_: float) -> np.ndarray:
    """`x` as heard through `room_kernel(delay_ms_)`, at the same active level as `x`."""
    y = _fft_convolve(x, room_kernel(delay_ms_))
    return set_level(y, active_level_db(x))


def set_level(x: np.ndarray, level_db: float) -> np.ndarray:
    """`x` scaled so that its active level is `level_db` dBFS."""
    now = active_level_db(x)
    if not np.isfinite(now):
        return x.copy()
    return x * 10 ** ((level_db - now) / 20)


def pink_noise(n: int, seed: int) -> np.ndarray:
    """Pink (1/f power) noise, 20 Hz-8 kHz, unit RMS."""
    rng = np.random.default_rng(seed)
    size = 1 << (n - 1).bit_length()  # a power of two: fast FFTs
    spectrum = np.fft.rfft(rng.standard_normal(size))
    f = np.fft.rfftfreq(size, 1 / BASE_RATE_HZ)
    shape = np.zeros_like(f)
    shape[f >= 20] = 1 / np.sqrt(f[f >= 20])
    y = np.fft.irfft(spectrum * shape, size)[:n]
    return y / np.sqrt(np.mean(y**2))


def _looped(x: np.ndarray, n: int, offset: int) -> np.ndarray:
    """`x` repeated to length `n`, starting `offset` samples in."""
    reps = -(-(n + offset) // len(x))
    return np.tile(x, reps)[offset : offset + n]


def babble(n: int, exclude: str, seed: int, tracks: int = 6) -> np.ndarray:
    """`tracks` party tracks of other bundled calls (not `exclude`), each at the same active
    level, looped and shifted by a seeded offset, summed."""
    rng = np.random.default_rng(seed)
    sources: list[np.ndarray] = []
    for name in (c for c in BABBLE_CALLS if c != exclude):
        call = load_call(name)
        sources += [call.rep, call.customer]
        if len(sources) >= tracks:
            break
    out = np.zeros(n)
    for src in sources[:tracks]:
        offset = int(rng.integers(0, len(src)))
        out += set_level(_looped(src, n, offset), -30.0)
    return out


def keyboard(n: int, seed: int) -> np.ndarray:
    """Keyboard-like clicks: typing bursts of 1-6 s (pauses of 0.5-4 s between them), keys
    at log-normal intervals (median 160 ms); each key a 4-8 ms broadband press burst and,
    60-110 ms later, a softer release, with a short 2-4.5 kHz ring."""
    rng = np.random.default_rng(seed)
    rate = BASE_RATE_HZ
    out = np.zeros(n)
    t = float(rng.uniform(0.2, 2.0))
    total = n / rate
    while t < total:
        burst_end = t + float(rng.uniform(1.0, 6.0))
        while t < min(burst_end, total):
            level = 10 ** (rng.uniform(-4, 4) / 20)
            for delay, gain in ((0.0, 1.0), (float(rng.uniform(0.06, 0.11)), 0.5)):
                start = round((t + delay) * rate)
                length = round(rate * rng.uniform(0.004, 0.008))
                if start + length + 80 >= n:
                    continue
                env = np.exp(-np.arange(length) / (length / 4))
                click = rng.standard_normal(length) * env
                click = np.diff(click, prepend=0.0)  # tilt up: a hard, bright transient
                ring_hz = float(rng.uniform(2000, 4500))
                k = np.arange(80)
                ring = np.sin(2 * np.pi * ring_hz * k / rate) * np.exp(-k / 15)
                burst = np.convolve(click, np.r_[1.0, 0.6 * ring])
                out[start : start + len(burst)] += level * gain * burst
            t += float(rng.lognormal(np.log(0.16), 0.35))
        t = burst_end + float(rng.uniform(0.5, 4.0))
    return out


def other_pair(call: Call, n: int, seed: int) -> np.ndarray:
    """Both tracks of another bundled call (not `call`), mixed, looped from a seeded offset,
    heard through the room (8 ms away, reflections)."""
    name = next(c for c in BACKGROUND_CALLS if c != call.name)
    other = load_call(name)
    mix = other.rep + other.customer
    offset = int(np.random.default_rng(seed).integers(len(mix) // 4, 3 * len(mix) // 4))
    return room(_looped(mix, n, offset), 8.0)


# --- simulate ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parts:
    """What each microphone hears, before mixing: own voice + added (float64, 16 kHz)."""

    rep_voice: np.ndarray
    rep_added: np.ndarray
    customer_voice: np.ndarray
    customer_added: np.ndarray


def parts(call: Call | str, cid: str) -> Parts:
    """The components of each microphone under condition `cid` (its 16 kHz version)."""
    call = load_call(call) if isinstance(call, str) else call
    cond = condition(cid)
    rep, customer = call.rep, call.customer
    n = len(rep)
    zero = np.zeros(n)
    seed = seed_for(call.name, cond.base_id)
    if cond.kind == "clean":
        return Parts(rep, zero, customer, zero)
    if cond.kind in ("leak", "stereo"):
        assert cond.level_db is not None and cond.delay_ms is not None
        rep_level, customer_level = active_level_db(rep), active_level_db(customer)
        to_rep = set_level(room(customer, cond.delay_ms), customer_level - cond.level_db)
        to_customer = set_level(room(rep, cond.delay_ms), rep_level - cond.level_db)
        return Parts(rep, to_rep, customer, to_customer)
    if cond.kind == "noise":
        assert cond.snr_db is not None
        if cond.noise == "pink":
            noise = pink_noise(n, seed)
        elif cond.noise == "babble":
            noise = babble(n, call.name, seed)
        else:
            noise = keyboard(n, seed)
        noise = set_level(noise, active_level_db(customer) - cond.snr_db)
        return Parts(rep, zero, customer, noise)
    assert cond.kind == "background" and cond.level_db is not None
    background = set_level(other_pair(call, n, seed), active_level_db(rep) - cond.level_db)
    return Parts(rep, background, customer, zero)


@dataclass(frozen=True, slots=True)
class Mics:
    """Each party's microphone signal (int16, mono, same length) at `rate_hz`.

    With `stereo`, the two are the channels of one device (left rep, right customer):
    `pair` is the (n, 2) array to send as the rep's stereo stream.
    """

    condition: str
    rate_hz: int
    rep: np.ndarray
    customer: np.ndarray
    stereo: bool = False

    @property
    def pair(self) -> np.ndarray:
        return np.ascontiguousarray(np.column_stack([self.rep, self.customer]))

    @property
    def duration_s(self) -> float:
        return len(self.rep) / self.rate_hz


def to_rate(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """A 16 kHz float signal at `rate_hz` (soxr, high quality)."""
    if rate_hz == BASE_RATE_HZ:
        return x
    return soxr.resample(x, BASE_RATE_HZ, rate_hz, quality="HQ")


def to_int16(x: np.ndarray) -> np.ndarray:
    """Rounds and clips a -1..1 float signal to int16."""
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def simulate(call: Call | str, cid: str) -> Mics:
    """Both microphones of `call` (a `Call` or a bundled call's name) under condition `cid`."""
    cond = condition(cid)
    p = parts(call, cid)
    rep = to_int16(to_rate(p.rep_voice + p.rep_added, cond.rate_hz))
    customer = to_int16(to_rate(p.customer_voice + p.customer_added, cond.rate_hz))
    return Mics(cid, cond.rate_hz, rep, customer, cond.stereo)


# --- measure back --------------------------------------------------------------------------


def measure(call: Call | str, cid: str) -> dict[str, float]:
    """Measures the condition back from `simulate()`'s int16 output.

    The added signal is the output minus the clean voice (taken through the same
    resampling and int16 rounding). Returns, as present: `leak_db` (each other-voice copy's
    active level below that voice on its own microphone; the rep's and customer's mics
    averaged), `leak_delay_ms` (its cross-correlation lag against the other voice),
    `snr_db` (customer speech over noise, active levels), `background_db` (rep voice over
    background), `clipped` (share of samples at full scale).
    """
    call = load_call(call) if isinstance(call, str) else call
    cond = condition(cid)
    mics = simulate(call, cid)
    rate = cond.rate_hz

    def clean(x: np.ndarray) -> np.ndarray:
        return to_int16(to_rate(x, rate)).astype(np.float64) / 32768

    rep_voice, customer_voice = clean(call.rep), clean(call.customer)
    rep_added = mics.rep / 32768 - rep_voice
    customer_added = mics.customer / 32768 - customer_voice
    out: dict[str, float] = {}
    full = np.concatenate([mics.rep, mics.customer])
    out["clipped"] = float(np.mean((full == 32767) | (full == -32768)))
    if cond.kind in ("leak", "stereo"):
        to_rep = active_level_db(customer_voice, rate) - active_level_db(rep_added, rate)
        to_cust = active_level_db(rep_voice, rate) - active_level_db(customer_added, rate)
        out["leak_db"] = (to_rep + to_cust) / 2
        out["leak_db_spread"] = abs(to_rep - to_cust)
        # The lag on a 20 s stretch with both voices (enough for a clean peak).
        s = slice(0, min(len(rep_voice), 20 * rate * 3))
        out["leak_delay_ms"] = delay_ms(customer_voice[s], rep_added[s], rate)
    elif cond.kind == "noise":
        out["snr_db"] = active_level_db(customer_voice, rate) - active_level_db(
            customer_added, rate
        )
    elif cond.kind == "background":
        out["background_db"] = active_level_db(rep_voice, rate) - active_level_db(rep_added, rate)
    return out


def _target(cond: Condition) -> str:
    if cond.kind in ("leak", "stereo"):
        return f"-{cond.level_db:g} dB @ {cond.delay_ms:g} ms"
    if cond.kind == "noise":
        return f"SNR {cond.snr_db:g} dB"
    if cond.kind == "background":
        return f"-{cond.level_db:g} dB"
    return "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--call", default="good")
    ap.add_argument("--only", nargs="+", default=None, help="condition ids (default: all)")
    ap.add_argument("--write", type=Path, default=None, help="also write each as FLAC here")
    args = ap.parse_args()
    ids = args.only or conditions()
    print(f"call {args.call}: {len(ids)} conditions, targets measured back from the int16 output")
    print(f"{'condition':24s} {'target':18s} {'measured':34s} {'clipped':>8s}  description")
    for cid in ids:
        cond = condition(cid)
        m = measure(args.call, cid)
        if "leak_db" in m:
            got = (
                f"-{m['leak_db']:.2f} dB (mics differ {m['leak_db_spread']:.2f}) "
                f"@ {m['leak_delay_ms']:.2f} ms"
            )
        elif "snr_db" in m:
            got = f"SNR {m['snr_db']:.2f} dB"
        elif "background_db" in m:
            got = f"-{m['background_db']:.2f} dB"
        else:
            got = "-"
        print(f"{cid:24s} {_target(cond):18s} {got:34s} {m['clipped']:8.1e}  {cond.description}")
        if args.write:
            import soundfile

            args.write.mkdir(parents=True, exist_ok=True)
            mics = simulate(args.call, cid)
            if mics.stereo:
                soundfile.write(
                    args.write / f"{args.call}.{cid}.stereo.flac", mics.pair, mics.rate_hz
                )
            else:
                for who, x in (("rep", mics.rep), ("customer", mics.customer)):
                    soundfile.write(args.write / f"{args.call}.{cid}.{who}.flac", x, mics.rate_hz)


if __name__ == "__main__":
    main()
