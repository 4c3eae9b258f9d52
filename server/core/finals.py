"""The final transcripts a call keeps for its report, packed.

Pure. A call keeps every final until its report is stored. As messages, each word is a
struct with a string and two float objects (about 140 bytes): 1.7 MB per hour of a
two-party call, 68 MB for 40 calls of an hour. Packed, a final keeps its text once and
its word times as one array of doubles (0.48 MB an hour); the messages are rebuilt, equal
to those sent, when the report asks for them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from models.wire import Transcript, Word


@dataclass(frozen=True, slots=True)
class _Packed:
    message: Transcript  # without its words when `times` holds them
    times: array[float] | None  # start, end of each word, in order; None: words kept as is


class Finals:
    """Final transcripts in the order they came; iterating gives the messages back."""

    __slots__ = ("_packed",)

    def __init__(self) -> None:
        self._packed: list[_Packed] = []

    def append(self, message: Transcript) -> None:
        words = message.words
        if not words or message.text.split(" ") != [w.w for w in words]:
            self._packed.append(_Packed(message, None))  # words the text cannot give back
            return
        times = array("d", [t for word in words for t in (word.start, word.end)])
        self._packed.append(_Packed(msgspec.structs.replace(message, words=()), times))

    def __iter__(self) -> Iterator[Transcript]:
        for packed in self._packed:
            times = packed.times
            if times is None:
                yield packed.message
                continue
            message = packed.message
            words = tuple(
                Word(w=w, start=times[2 * i], end=times[2 * i + 1])
                for i, w in enumerate(message.text.split(" "))
            )
            yield msgspec.structs.replace(message, words=words)

    def __len__(self) -> int:
        return len(self._packed)
