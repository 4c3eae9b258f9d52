"""--device and --compute-type: resolution against what CTranslate2 says (faked GPUs, and
this machine's real answer: no CUDA device), and the CPU fallback of a failed GPU load."""

from __future__ import annotations

import pytest

from server.asr.device import (
    DeviceUnavailable,
    Placement,
    load_placed,
    resolve_placement,
)
from server.asr.models import ModelUnavailable

CPU_TYPES = frozenset({"int8", "int8_float32", "int16", "float32"})  # as CTranslate2 4.8 here
GPU_TYPES = frozenset({"int8", "int8_float16", "int8_float32", "float16", "float32"})


def no_gpu() -> int:
    return 0


def one_gpu() -> int:
    return 1


def supported(device: str) -> frozenset[str]:
    return CPU_TYPES if device == "cpu" else GPU_TYPES


def broken_cuda(device: str) -> frozenset[str]:
    if device == "cuda":
        raise DeviceUnavailable("--device cuda: CTranslate2 cannot use it: driver too old")
    return CPU_TYPES


def test_resolve_placement_auto_on_this_machine_is_cpu_int8() -> None:
    pytest.importorskip("ctranslate2")
    placement = resolve_placement()  # this machine: CTranslate2 sees no CUDA device
    assert (placement.device, placement.compute_type) == ("cpu", "int8")
    assert placement.fallback is None
    assert placement.describe() == "cpu, int8 (auto: no CUDA device)"


@pytest.mark.parametrize(
    "device,compute_type,count,expected",
    [
        ("auto", "auto", no_gpu, ("cpu", "int8")),
        ("auto", "auto", one_gpu, ("cuda", "float16")),
        ("auto", "int8_float16", one_gpu, ("cuda", "int8_float16")),
        ("auto", "float32", no_gpu, ("cpu", "float32")),
        ("cpu", "auto", one_gpu, ("cpu", "int8")),
        ("cpu", "int16", one_gpu, ("cpu", "int16")),
        ("cuda", "auto", one_gpu, ("cuda", "float16")),
        ("CUDA", " Float32 ", one_gpu, ("cuda", "float32")),
    ],
)
def test_resolve_placement_table(device, compute_type, count, expected) -> None:
    placement = resolve_placement(device, compute_type, count_cuda=count, supported=supported)
    assert (placement.device, placement.compute_type) == expected


def test_resolve_placement_auto_on_a_gpu_keeps_the_cpu_as_fallback() -> None:
    placement = resolve_placement(count_cuda=one_gpu, supported=supported)
    assert placement.describe() == "cuda, float16 (auto: 1 CUDA device)"
    assert placement.fallback == Placement("cpu", "int8", "auto: the CUDA device failed")


def test_resolve_placement_auto_with_a_type_the_cpu_lacks_has_no_fallback() -> None:
    placement = resolve_placement("auto", "int8_float16", count_cuda=one_gpu, supported=supported)
    assert placement.fallback is None


def test_resolve_placement_cuda_only_when_asked_keeps_no_fallback() -> None:
    placement = resolve_placement("cuda", count_cuda=one_gpu, supported=supported)
    assert placement.fallback is None and placement.why == ""


def test_resolve_placement_auto_with_an_unusable_gpu_runs_on_the_cpu() -> None:
    placement = resolve_placement(count_cuda=one_gpu, supported=broken_cuda)
    assert (placement.device, placement.compute_type) == ("cpu", "int8")


def test_resolve_placement_cuda_without_a_device_says_so_in_one_line() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        resolve_placement("cuda", count_cuda=no_gpu, supported=supported)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--device cuda: CTranslate2 sees no CUDA device")
    assert "--device cpu" in message
    assert caught.value.code == "device_unavailable"
    assert isinstance(caught.value, ModelUnavailable)  # every loader's handler catches it


def test_resolve_placement_cuda_on_this_machine_is_refused() -> None:
    pytest.importorskip("ctranslate2")
    with pytest.raises(DeviceUnavailable, match="sees no CUDA device"):
        resolve_placement("cuda")


def test_resolve_placement_cuda_with_a_broken_driver_is_refused() -> None:
    with pytest.raises(DeviceUnavailable, match="driver too old"):
        resolve_placement("cuda", count_cuda=one_gpu, supported=broken_cuda)


def test_resolve_placement_unsupported_compute_type_names_the_supported_ones() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        resolve_placement("cpu", "float16", count_cuda=no_gpu, supported=supported)
    assert str(caught.value) == (
        "--compute-type float16 is not supported on cpu here;"
        " supported: float32, int16, int8, int8_float32"
    )


def test_resolve_placement_unsupported_compute_type_on_this_machine() -> None:
    pytest.importorskip("ctranslate2")
    with pytest.raises(
        DeviceUnavailable, match="float16 is not supported on cpu here; supported: "
    ):
        resolve_placement("auto", "float16")


@pytest.mark.parametrize(
    "device,compute_type,needle",
    [
        ("gpu", "auto", "--device 'gpu': choose one of auto, cpu, cuda"),
        ("cpu", "int4", "--compute-type 'int4': not a CTranslate2 compute type"),
    ],
)
def test_resolve_placement_unknown_names(device, compute_type, needle) -> None:
    with pytest.raises(DeviceUnavailable, match=needle):
        resolve_placement(device, compute_type, count_cuda=no_gpu, supported=supported)


def test_load_placed_falls_back_to_the_cpu_when_the_gpu_load_fails() -> None:
    placement = resolve_placement(count_cuda=one_gpu, supported=supported)
    tried: list[str] = []

    def load(where: Placement) -> str:
        tried.append(where.device)
        if where.device == "cuda":
            raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")
        return "model"

    loaded, where = load_placed(placement, load)
    assert loaded == "model" and tried == ["cuda", "cpu"]
    assert where.describe() == "cpu, int8 (auto: the CUDA device failed)"


def test_load_placed_without_fallback_turns_a_runtime_error_into_one_line() -> None:
    placement = resolve_placement("cuda", count_cuda=one_gpu, supported=supported)

    def load(where: Placement) -> str:
        raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")

    with pytest.raises(DeviceUnavailable, match=r"cannot run on cuda \(float16\): Library"):
        load_placed(placement, load)


def test_load_placed_passes_a_missing_model_through() -> None:
    def load(where: Placement) -> str:
        raise ModelUnavailable("no model here")

    with pytest.raises(ModelUnavailable, match="no model here"):
        load_placed(Placement("cpu", "int8"), load)
