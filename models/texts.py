"""Texts in every language a playbook speaks (English and Dutch, first-class)."""

from __future__ import annotations

import msgspec

LANGUAGES = ("en", "nl")


class Texts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A nudge text per language; `{placeholders}` are filled from the evidence."""

    en: str
    nl: str

    def get(self, language: str) -> str:
        return self.nl if language == "nl" else self.en
