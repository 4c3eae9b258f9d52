"""Languages the text analysers support (English, Dutch) and parsing of language codes."""

from __future__ import annotations

import re
from enum import StrEnum


class Language(StrEnum):
    """Languages the text analysers support (coaching.md: English and Dutch)."""

    EN = "en"
    NL = "nl"


def parse_language(language: str) -> Language:
    """Turns a language code into a `Language`.

    Args:
        language: "en" or "nl", any case; a region suffix ("nl-BE", "en_GB") is ignored.

    Returns:
        The matching `Language`.

    Raises:
        ValueError: For any other language, naming the value received.
    """
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    try:
        return Language(code)
    except ValueError:
        raise ValueError(f"language must be one of 'en', 'nl', got {language!r}") from None
