"""Shopify's webhook signature: base64 HMAC-SHA256 of the raw body."""
from __future__ import annotations

import base64
import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def valid(secret: str, body: bytes, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), given.strip().encode())
