"""Where Whisper runs: ``--device auto|cpu|cuda`` and ``--compute-type``, checked against
what CTranslate2 supports on this machine.

Asks CTranslate2 only (device count, supported types); loads no model and knows nothing
of sessions. A refusal is one line (``DeviceUnavailable``), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from server.asr.models import ModelUnavailable

log = logging.getLogger("sparring")

DEVICES = ("auto", "cpu", "cuda")
AUTO = "auto"
# CTranslate2's quantisation names (docs: "Quantization"); which ones a device supports
# is asked of CTranslate2 at start (`get_supported_compute_types`).
COMPUTE_TYPES = (
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
# int8 is the fastest on CPU (bench/bench_asr.py); float16 is CTranslate2's usual GPU type,
# supported from compute capability 5.3 and run on tensor cores from 7.0.
DEFAULT_COMPUTE_TYPE = {"cpu": "int8", "cuda": "float16"}

R = TypeVar("R")


class DeviceUnavailable(ModelUnavailable):
    """The asked device or compute type is not available here; the message says what is."""

    code = "device_unavailable"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a model runs and with which arithmetic.

    Attributes:
        device: ``cpu`` or ``cuda``.
        compute_type: A CTranslate2 compute type the device supports.
        why: How it was chosen, for the start line ("auto: no CUDA device").
        fallback: Where to load instead if loading here fails; set only when ``auto``
            chose CUDA, so that a GPU without its CUDA libraries still serves on the CPU.
    """

    device: str
    compute_type: str
    why: str = ""
    fallback: Placement | None = None

    def describe(self) -> str:
        """One line for the operator: ``cuda, float16 (auto: 1 CUDA device)``."""
        return f"{self.device}, {self.compute_type}" + (f" ({self.why})" if self.why else "")


def cuda_device_count() -> int:
    """How many CUDA devices CTranslate2 sees (0 without CTranslate2 or without CUDA)."""
    try:
        import ctranslate2
    except ImportError:
        return 0
    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:  # a CUDA runtime that cannot even count: no usable device
        return 0


def supported_compute_types(device: str) -> frozenset[str]:
    """The compute types CTranslate2 supports on ``device`` here.

    Raises:
        DeviceUnavailable: CTranslate2 is missing, or cannot use the device (e.g. a CUDA
            driver older than its runtime).
    """
    try:
        import ctranslate2
    except ImportError:
        raise DeviceUnavailable(
            "speech recognition needs ctranslate2, which is not installed:"
            " pip install 'faster-whisper>=1.1' (or reinstall sparring)"
        ) from None
    try:
        return frozenset(ctranslate2.get_supported_compute_types(device))
    except (RuntimeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeviceUnavailable(
            f"--device {device}: CTranslate2 cannot use it: {first_line}"
        ) from None


def resolve_placement(
    device: str = AUTO,
    compute_type: str = AUTO,
    *,
    count_cuda: Callable[[], int] = cuda_device_count,
    supported: Callable[[str], frozenset[str]] = supported_compute_types,
) -> Placement:
    """Resolves ``--device`` and ``--compute-type`` to a placement this machine supports.

    Args:
        device: ``auto`` (CUDA when CTranslate2 sees a CUDA device, else the CPU), ``cpu``
            or ``cuda``.
        compute_type: ``auto`` (``DEFAULT_COMPUTE_TYPE`` of the device) or one of
            ``COMPUTE_TYPES``.
        count_cuda: The CUDA device count (tests pass a fake one).
        supported: The compute types of a device (tests pass a fake one).

    Returns:
        The placement, with a fallback to the CPU when ``auto`` chose CUDA.

    Raises:
        DeviceUnavailable: an unknown name, ``cuda`` without a CUDA device, or a compute
            type the device does not support here (the message lists the supported ones).
    """
    device, compute_type = device.strip().lower(), compute_type.strip().lower()
    if device not in DEVICES:
        raise DeviceUnavailable(f"--device {device!r}: choose one of {', '.join(DEVICES)}")
    if compute_type != AUTO and compute_type not in COMPUTE_TYPES:
        raise DeviceUnavailable(
            f"--compute-type {compute_type!r}: not a CTranslate2 compute type;"
            f" choose auto or one of {', '.join(COMPUTE_TYPES)}"
        )
    n_cuda = count_cuda()
    if device == AUTO:
        if n_cuda > 0:
            try:
                chosen = _placed("cuda", compute_type, supported, f"auto: {_devices(n_cuda)}")
            except DeviceUnavailable as exc:  # a GPU CTranslate2 cannot use: the CPU
                log.warning("not using the CUDA device (%s); recognition runs on the CPU", exc)
            else:
                fallback = _cpu_fallback(compute_type, supported)
                return Placement(chosen.device, chosen.compute_type, chosen.why, fallback)
        return _placed("cpu", compute_type, supported, "auto: no CUDA device")
    if device == "cuda" and n_cuda == 0:
        raise DeviceUnavailable(
            "--device cuda: CTranslate2 sees no CUDA device here (a GPU, its driver and"
            " CTranslate2's CUDA libraries are needed); use --device cpu"
        )
    return _placed(device, compute_type, supported, "")


def load_placed(placement: Placement, load: Callable[[Placement], R]) -> tuple[R, Placement]:
    """Loads with ``load`` on ``placement``; if that fails and the placement has a
    fallback (``auto`` chose CUDA), says why and loads on the fallback.

    Returns:
        What ``load`` returned, and the placement it was loaded on.

    Raises:
        ModelUnavailable: loading failed and there is no fallback, or it failed too.
    """
    try:
        return load(placement), placement
    except (ModelUnavailable, RuntimeError, OSError) as exc:
        if placement.fallback is None:
            if isinstance(exc, ModelUnavailable):
                raise
            raise DeviceUnavailable(
                f"the model cannot run on {placement.device} ({placement.compute_type}): {exc}"
            ) from exc
        log.warning(
            "the model cannot run on %s (%s); loading it on %s instead",
            placement.device,
            exc,
            placement.fallback.describe(),
        )
        return load(placement.fallback), placement.fallback


def _placed(
    device: str, compute_type: str, supported: Callable[[str], frozenset[str]], why: str
) -> Placement:
    chosen = DEFAULT_COMPUTE_TYPE[device] if compute_type == AUTO else compute_type
    available = supported(device)
    if chosen not in available:
        raise DeviceUnavailable(
            f"--compute-type {chosen} is not supported on {device} here;"
            f" supported: {', '.join(sorted(available))}"
        )
    return Placement(device, chosen, why)


def _cpu_fallback(
    compute_type: str, supported: Callable[[str], frozenset[str]]
) -> Placement | None:
    """The CPU placement to fall back to: only when the compute type was left to us or
    the CPU supports the one asked for (else a failed GPU load is an error)."""
    try:
        return _placed("cpu", compute_type, supported, "auto: the CUDA device failed")
    except DeviceUnavailable:
        return None


def _devices(n: int) -> str:
    return f"{n} CUDA device" + ("" if n == 1 else "s")
