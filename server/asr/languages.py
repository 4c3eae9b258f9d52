"""Which languages this node transcribes, and the Whisper model behind each, loaded on demand.

English comes from the model the server starts with (``--model``, tiny.en by default). Dutch
and language detection come from the multilingual model (``base``, the ``nl`` extra), loaded
off the event loop the first time a call needs it, while calls in other languages go on.
Knows nothing of sessions: ``on_change`` tells the app when a language's status changes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np

from models.wire import RecognitionStatus
from server.asr.jobs import SAMPLE_RATE_HZ, Recognition
from server.asr.models import BASE, BASE_PACKAGES, ModelUnavailable
from server.asr.pool import SupportsRecognize

log = logging.getLogger("sparring")

# The languages a call may be created in (besides "auto"), in the order the form offers them.
LANGUAGES = ("en", "nl")
# What brings each language to a server that lacks it.
INSTALL = {"nl": "pip install 'sparring[nl]'", "auto": "pip install 'sparring[nl]'"}


class Model(SupportsRecognize, Protocol):
    """What a language's model must do (``engine.Recognizer`` or a test double): recognise
    as the pool asks, and say which languages it transcribes."""

    multilingual: bool

    def supports(self, language: str) -> bool:
        """Whether the model transcribes ``language``."""
        ...


ChangeCallback = Callable[[str, RecognitionStatus, str], None]


def multilingual_installed() -> bool:
    """Whether the packages of the multilingual ``base`` model are installed (not loaded)."""
    return all(importlib.util.find_spec(name) is not None for name in BASE_PACKAGES)


class Recognizers:
    """The models of one node, one per language, behind the pool's recognizer interface.

    Args:
        primary: The model loaded at start; it serves English, and every language it
            supports when it is multilingual.
        load: Loads a model spec (blocking; run in a worker thread): the on-demand model.
        multilingual: The spec of the on-demand multilingual model; None: no other model.
        installed: Whether ``multilingual`` can be loaded here; default: for ``base``, its
            packages are installed (``multilingual_installed``), any other spec is tried.
        on_change: Called on the event loop with (language, status, install) when a
            language's model finishes loading ("on") or fails ("unavailable"); the
            language is "nl" and also "auto" for the multilingual model.
    """

    def __init__(
        self,
        primary: Model,
        *,
        load: Callable[[str], Model],
        multilingual: str | None = BASE,
        installed: Callable[[], bool] | None = None,
        on_change: ChangeCallback | None = None,
    ) -> None:
        self.primary = primary
        self._load = load
        self._spec = None if primary.multilingual else multilingual
        is_installed = installed or multilingual_installed
        self._installed = self._spec is not None and (self._spec != BASE or is_installed())
        self.on_change = on_change
        self.on_ready: Callable[[], None] | None = None  # the pool's wake-up, set by the app
        self._extra: Model | None = None
        self._loading: asyncio.Future[Model] | None = None
        self._failed: str | None = None

    # -- queries ------------------------------------------------------------------------

    def transcribes(self, language: str) -> bool:
        """Whether this node transcribes ``language``, now or once its model has loaded."""
        if language in ("en", "auto") or self.primary.supports(language):
            return True
        return self._has_other_model()

    def status(self, language: str) -> tuple[RecognitionStatus, str]:
        """The recognition status of ``language`` and, when unavailable, what installs it."""
        if self._primary_serves(language):
            return "on", ""
        if not self._has_other_model():
            return "unavailable", INSTALL.get(language, "") if self._spec == BASE else ""
        return ("on" if self._extra is not None else "loading"), ""

    def ready(self, language: str | None) -> bool:
        """Whether a job in ``language`` (None: to detect) can run now, or must wait."""
        return self._primary_serves(language) or self._extra is not None or self._failed is not None

    def languages(self) -> list[dict[str, str | bool]]:
        """Each language a call may be created in (``GET /v1/languages``): whether its calls
        are transcribed ("on" or "unavailable"), whether its model is loaded already (else
        the first call loads it, a few seconds), and the install that brings a missing one."""
        listed: list[dict[str, str | bool]] = []
        for code in (*LANGUAGES, "auto"):
            status, install = self.status(code)
            entry: dict[str, str | bool] = {
                "code": code,
                "recognition": "unavailable" if status == "unavailable" else "on",
                "loaded": status == "on",
            }
            if install:
                entry["install"] = install
            listed.append(entry)
        return listed

    def describe(self) -> str:
        """One line for the operator: what each language is recognised with."""
        parts = []
        for code in LANGUAGES:
            status, install = self.status(code)
            if self._primary_serves(code):
                parts.append(f"{code} ({getattr(self.primary, 'name', 'loaded')})")
            elif status == "unavailable":
                parts.append(f"{code} not installed" + (f" ({install})" if install else ""))
            else:
                parts.append(f"{code} ({self._spec}, loads with the first call)")
        return "; ".join(parts)

    # -- commands -----------------------------------------------------------------------

    def prepare(self, language: str) -> tuple[RecognitionStatus, str]:
        """A call in ``language`` is starting: load its model if needed (off the loop).

        Call from the event loop. Returns the language's status: "loading" until the
        model is there, when ``on_change`` reports "on" (or "unavailable" on failure).
        """
        status, install = self.status(language)
        if status == "loading" and self._loading is None:
            assert self._spec is not None
            spec = self._spec
            log.info("loading the multilingual model %s for a first %s call", spec, language)
            loop = asyncio.get_running_loop()
            self._loading = loop.run_in_executor(None, self._load, spec)
            self._loading.add_done_callback(self._loaded)
        return status, install

    def recognize(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        final: bool,
        prompt: str | None = None,
        greedy: bool = False,
    ) -> Recognition:
        """Recognise with the model of ``language`` (blocking; see ``engine.Recognizer``)."""
        model = self.primary if self._primary_serves(language) else self._extra
        if model is None:  # its model failed to load: the session was told
            return Recognition(
                text="", duration_s=len(audio) / SAMPLE_RATE_HZ, rejected="unavailable"
            )
        # Asked only when wanted (as the pool does), for models without the option.
        wanted = {"greedy": True} if greedy else {}
        return model.recognize(audio, language=language, final=final, prompt=prompt, **wanted)

    # -- internals ----------------------------------------------------------------------

    def _primary_serves(self, language: str | None) -> bool:
        if language == "en" or (language is not None and self.primary.supports(language)):
            return True
        # To detect: the multilingual model if this node has one, else English it is.
        return (language is None or language == "auto") and not self._has_other_model()

    def _has_other_model(self) -> bool:
        return self._spec is not None and self._installed and self._failed is None

    def _loaded(self, future: asyncio.Future[Model]) -> None:
        try:
            self._extra = future.result()
        except ModelUnavailable as exc:
            self._failed = str(exc)
            log.error("the multilingual model cannot be loaded: %s", exc)
        except Exception as exc:  # whatever it was, its calls must stop waiting for it
            self._failed = str(exc)
            log.exception("the multilingual model cannot be loaded")
        else:
            log.info("multilingual model %s ready", self._spec)
        if self.on_ready is not None:
            self.on_ready()
        if self.on_change is not None:
            for language in ("nl", "auto"):
                status, install = self.status(language)
                self.on_change(language, status, install)
