"""Secrets the store keeps only as hashes: call join tokens and long-lived rep tokens.

A sha256 of a 192-bit random token cannot be reversed or guessed, so looking a hash up by
equality leaks nothing a constant-time compare would protect.
"""

from __future__ import annotations

import hashlib
import secrets


def token_hash(token: str) -> str:
    """The hex sha256 of a token's UTF-8 bytes: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_rep_token() -> str:
    """A long-lived rep token: 192 random bits, URL-safe (as join tokens are)."""
    return "rep_" + secrets.token_urlsafe(24)


def new_id(prefix: str) -> str:
    """A short random id for a group or a rep; not a secret."""
    return f"{prefix}_{secrets.token_hex(6)}"
