"""Errors that carry their wire code: the one exception tree of Sparring.

The core and the codec raise these; only the WebSocket transport catches them, sends an
`error` message and closes the connection when `close_code` is set.
"""

from __future__ import annotations

from typing import ClassVar

# WebSocket close codes used by protocol v1 (RFC 6455).
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013


class SparringError(Exception):
    """Root of every error that reaches a client.

    Attributes:
        code: the wire string of the `error` message.
        close_code: None when the connection survives, else the WebSocket close code.
    """

    code: ClassVar[str] = "internal"
    close_code: ClassVar[int | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadMessage(SparringError):
    """Malformed JSON or a message that fails validation; the connection survives."""

    code = "bad_message"


class UnknownType(SparringError):
    """A text frame whose `type` this server does not know; the connection survives."""

    code = "unknown_type"


class HelloRequired(SparringError):
    """Anything but `create` or `hello` before `hello`: a protocol violation."""

    code = "hello_required"
    close_code = CLOSE_POLICY_VIOLATION


class BadToken(SparringError):
    """A join token that no live session knows."""

    code = "bad_token"
    close_code = CLOSE_POLICY_VIOLATION


class TokenExpired(SparringError):
    """A join token of a session that has ended."""

    code = "token_expired"
    close_code = CLOSE_POLICY_VIOLATION


class RoleTaken(SparringError):
    """A second connection for a role that allows one (the rep, a stereo customer)."""

    code = "role_taken"
    close_code = CLOSE_POLICY_VIOLATION


class Replaced(SparringError):
    """This connection's place was taken over by a new one with the same token (a reload,
    another window, a Wi-Fi switch the server had not noticed): it is closed and must not
    reconnect by itself, or the two would take the place from each other in turn."""

    code = "replaced"
    close_code = CLOSE_POLICY_VIOLATION


class BadAudioFormat(SparringError):
    """An audio format the server cannot take (rate, channels, encoding)."""

    code = "bad_audio_format"
    close_code = CLOSE_UNSUPPORTED_DATA


class BadAudio(SparringError):
    """An audio frame that cannot be decoded; it is dropped, the connection survives."""

    code = "bad_audio"


class FrameTooBig(SparringError):
    """A frame over the 64 KiB limit of protocol v1."""

    code = "too_big"
    close_code = CLOSE_MESSAGE_TOO_BIG


class BadConsent(SparringError):
    """A consent message that cannot be honoured as sent (missing scope, bad proxy)."""

    code = "bad_consent"


class Forbidden(SparringError):
    """A message the sender's role may not send (e.g. `whisper` from a customer)."""

    code = "forbidden"


class NotAllowedNow(SparringError):
    """A valid message at the wrong moment (a second `hello`, `create` after `hello`)."""

    code = "bad_state"


class BadPlaybook(SparringError):
    """A playbook that fails validation; the message names the place and the problem."""

    code = "bad_playbook"


class ServerBusy(SparringError):
    """The server holds as many sessions as it is configured for."""

    code = "server_busy"
    close_code = CLOSE_TRY_AGAIN_LATER


class UnknownSession(SparringError):
    """A trainer named a call this server has not heard of (or no longer keeps)."""

    code = "unknown_session"


class SlowDown(SparringError):
    """Too many wrong trainer keys from one address: it must wait before trying again."""

    code = "slow_down"
    close_code = CLOSE_POLICY_VIOLATION


class StoreUnavailable(SparringError):
    """The database cannot be reached (at start, or lost mid-way): transient, retried."""

    code = "store_unavailable"


class AlreadyEvaluated(SparringError):
    """A second evaluation of one call by the same evaluator (one each: self, peer, trainer)."""

    code = "already_evaluated"


class CallErased(SparringError):
    """A call whose data was erased at a participant's request; only the proof is kept."""

    code = "call_erased"


class UnknownGroup(SparringError):
    """A training group id the store does not hold."""

    code = "unknown_group"


class BadRecording(SparringError):
    """A recording that cannot be analysed: unreadable, or not one channel per party."""

    code = "bad_recording"


class UnknownRep(SparringError):
    """A rep id the store does not hold."""

    code = "unknown_rep"


class MissingPackage(SparringError):
    """An optional Python package the server was asked to use is not installed; the message
    names the `pip install` that brings it (start-up only: never sent on the wire)."""

    code = "missing_package"


# --- limits (docs/protocol.md, Limits) --------------------------------------------------


class RateLimited(SparringError):
    """Too many of one request lately (creates per address, consent changes, whispers).

    The request is refused, not queued; the message says when to try again.
    """

    code = "rate_limited"


class CreateRateLimited(RateLimited):
    """Too many `create`s from one address lately: that connection is closed, try later."""

    close_code = CLOSE_TRY_AGAIN_LATER


class CallFull(SparringError):
    """A call that holds as many observers as it takes."""

    code = "call_full"
    close_code = CLOSE_TRY_AGAIN_LATER


class AudioTooFast(SparringError):
    """Audio arriving faster than the cap (a multiple of real time): the server paces it."""

    code = "audio_too_fast"


class TranscriptBehind(SparringError):
    """Recognition could not keep up with this call (audio far faster than real time, or a
    node far past its capacity): some of its finals were dropped, its transcript has gaps.
    Sent to the call's participants at most once per `TRANSCRIPT_BEHIND_EVERY_S`."""

    code = "transcript_behind"


# Errors that tell about a call going on rather than refuse anything: a client shows them
# and carries on (`sparring demo` and `join` do not fail on them).
NOTICE_CODES = frozenset({TranscriptBehind.code})


class TooManyConnections(SparringError):
    """An address that holds as many open connections as it may."""

    code = "too_many_connections"
    close_code = CLOSE_TRY_AGAIN_LATER


class HelloTimeout(SparringError):
    """A connection that neither joined nor asked anything within the deadline."""

    code = "hello_timeout"
    close_code = CLOSE_POLICY_VIOLATION


class KeyRequired(SparringError):
    """`create` without the trainer key or a rep token, on a server that requires one."""

    code = "key_required"
    close_code = CLOSE_POLICY_VIOLATION


class CallIdle(SparringError):
    """A call nothing was sent to for too long: it is ended (its report follows)."""

    code = "call_idle"


class CallTooLong(SparringError):
    """A call that reached the longest a call may last: it is ended (its report follows)."""

    code = "call_too_long"


class ServerStopping(SparringError):
    """The server is shutting down: it starts no call and takes no one in; running calls
    end with their report (docs/protocol.md, Shutdown)."""

    code = "server_stopping"
    close_code = CLOSE_GOING_AWAY
