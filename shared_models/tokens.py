"""Signed, URL-safe tokens for the public links (/t, /u, /optin).

A token is base64url(shop_id bytes + object_id bytes + MAC), 64 characters.
The MAC is HMAC-SHA256 over the kind and both ids, truncated to 16 bytes, so
a token of one kind never verifies as another. Tokens carry no expiry: an
unsubscribe link must keep working for as long as the email exists.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import uuid

MAC_BYTES = 16
_PAYLOAD_BYTES = 32  # two UUIDs
_TOKEN_CHARS = ((_PAYLOAD_BYTES + MAC_BYTES) * 4 + 2) // 3  # base64 without padding
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{_TOKEN_CHARS}}}")


@functools.lru_cache(maxsize=64)
def _keyed(kind: str, secret: str) -> "hmac.HMAC":
    """The HMAC state after the key and the kind's prefix: a dispatcher signs
    two links per alert, and copying this state skips re-keying each time."""
    return hmac.new(secret.encode(), b"backinstock-token:" + kind.encode() + b"\x00", hashlib.sha256)


def _mac(kind: str, payload: bytes, secret: str) -> bytes:
    mac = _keyed(kind, secret).copy()
    mac.update(payload)
    return mac.digest()[:MAC_BYTES]


def sign(kind: str, shop_id: uuid.UUID, object_id: uuid.UUID, secret: str) -> str:
    if not secret:
        raise ValueError("SECRET_KEY is empty: refusing to sign a token")
    if not kind:
        raise ValueError("a token needs a kind")
    payload = shop_id.bytes + object_id.bytes
    raw = payload + _mac(kind, payload, secret)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def verify(kind: str, token: str, secret: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(shop_id, object_id) if `token` was signed for `kind` with `secret`, else None."""
    if not secret or not kind or not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    try:
        # The regex already fixed the alphabet and length; pad and decode strictly.
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    payload, mac = raw[:_PAYLOAD_BYTES], raw[_PAYLOAD_BYTES:]
    if not hmac.compare_digest(mac, _mac(kind, payload, secret)):
        return None
    return uuid.UUID(bytes=payload[:16]), uuid.UUID(bytes=payload[16:])
