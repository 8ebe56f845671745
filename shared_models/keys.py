"""API keys and webhook secrets: generated here, stored only as hashes.

A key is `bis_<prefix><secret>`. The 8-character prefix is not secret: it finds
the row (and names the key for `keys revoke`); the SHA-256 of the whole key is
then compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_TAG = "bis_"
PREFIX_LEN = 8


def generate_api_key() -> str:
    return KEY_TAG + secrets.token_hex(PREFIX_LEN // 2) + secrets.token_urlsafe(24)


def key_prefix(key: str) -> str | None:
    if not key.startswith(KEY_TAG) or len(key) < len(KEY_TAG) + PREFIX_LEN + 16 or len(key) > 128:
        return None
    return key[len(KEY_TAG):len(KEY_TAG) + PREFIX_LEN]


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_matches(key: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_key(key), bytes(stored_hash))


def generate_webhook_secret() -> str:
    return secrets.token_hex(32)
