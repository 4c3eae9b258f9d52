"""The final transcripts a call keeps for its report, compressed in blocks.

Pure. A call keeps every final until its report is stored, and the hub keeps the last
ended calls for their reports. As messages, each word is a struct with a string and two
float objects: 1.7 MB per hour of a two-party call. Here each final is kept as its
MessagePack bytes, and every `BLOCK_FINALS` of them are compressed together (their field
names, speakers and words repeat): about 0.1 MB an hour. The messages decode equal to
those sent (MessagePack keeps every float's 64 bits) when the report asks for them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import msgspec

from models.wire import Transcript

# 32 finals (2-3 minutes of a call) compress to about a third of their bytes; larger blocks
# gain little more. The open block stays uncompressed: at most 31 finals, about 17 kB.
BLOCK_FINALS = 32

_encode = msgspec.msgpack.Encoder().encode
_decode_one = msgspec.msgpack.Decoder(Transcript).decode
_decode_block = msgspec.msgpack.Decoder(list[Transcript]).decode


def _array_header(n: int) -> bytes:
    """MessagePack's array16 header: n encoded messages after it read as one list."""
    return b"\xdc" + n.to_bytes(2, "big")


class Finals:
    """Final transcripts in the order they came; iterating gives the messages back."""

    __slots__ = ("_blocks", "_open", "_count")

    def __init__(self) -> None:
        self._blocks: list[bytes] = []  # each: zlib of a MessagePack list of finals
        self._open: list[bytes] = []  # the finals since, each its MessagePack bytes
        self._count = 0

    def append(self, message: Transcript) -> None:
        self._open.append(_encode(message))
        self._count += 1
        if len(self._open) >= BLOCK_FINALS:
            self.seal()

    def seal(self) -> None:
        """Compresses the finals not yet in a block (at the end of the call; a final that is
        recognised later opens a new one)."""
        if self._open:
            self._blocks.append(
                zlib.compress(_array_header(len(self._open)) + b"".join(self._open))
            )
            self._open = []

    def __iter__(self) -> Iterator[Transcript]:
        for block in self._blocks:
            yield from _decode_block(zlib.decompress(block))
        for item in list(self._open):
            yield _decode_one(item)

    def __len__(self) -> int:
        return self._count
