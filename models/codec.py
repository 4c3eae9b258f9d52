"""The one JSON codec of protocol v1: bytes or str in, typed messages out, and back."""

from __future__ import annotations

import msgspec

from models.errors import BadAudioFormat, BadMessage, UnknownType
from models.wire import CLIENT_TYPES, ClientMessage, ServerMessage

_encoder = msgspec.json.Encoder()
_client_decoder = msgspec.json.Decoder(ClientMessage)
_server_decoder = msgspec.json.Decoder(ServerMessage)
_raw_decoder = msgspec.json.Decoder()


def encode(message: msgspec.Struct) -> bytes:
    """Encodes any wire struct as compact JSON."""
    return _encoder.encode(message)


def decode_client(data: str | bytes) -> ClientMessage:
    """Decodes one client text frame.

    Raises:
        BadMessage: the frame is not JSON, not an object, or fails validation.
        UnknownType: the object's `type` is missing or not a v1 client message type.
    """
    try:
        message: ClientMessage = _client_decoder.decode(data)
        return message
    except msgspec.ValidationError as exc:
        # Tell "unknown type" apart from a bad field, which needs a second, cheap look.
        raw = _decode_raw(data)
        if not isinstance(raw, dict):
            raise BadMessage(f"a message must be a JSON object, got {type(raw).__name__}") from None
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in CLIENT_TYPES:  # `{"type":{}}` too
            raise UnknownType(f"unknown message type {kind!r}") from None
        if kind == "hello" and "`$.audio" in str(exc):
            raise BadAudioFormat(f"unsupported audio format: {exc}") from None
        raise BadMessage(f"invalid {kind} message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadMessage(f"malformed JSON: {exc}") from None
    except RecursionError:  # thousands of nested arrays: msgspec recurses per level
        raise BadMessage("JSON nested too deeply") from None


def decode_server(data: str | bytes) -> ServerMessage:
    """Decodes one server message (used by clients and tests)."""
    message: ServerMessage = _server_decoder.decode(data)
    return message


def _decode_raw(data: str | bytes) -> object:
    try:
        return _raw_decoder.decode(data)
    except RecursionError:
        raise BadMessage("JSON nested too deeply") from None
    except msgspec.DecodeError as exc:
        raise BadMessage(f"malformed JSON: {exc}") from None
