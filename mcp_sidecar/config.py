"""The sidecar's settings, from the environment like the rest of the service."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

from shared_models.config import MissingConfig

DEFAULT_REFRESH_SECONDS = 30.0
DEFAULT_TIMEOUT_SECONDS = 30.0


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise MissingConfig(f"{name} (must be a positive number of seconds, got {raw!r})")
    return value


@dataclass(frozen=True)
class SidecarConfig:
    api_url: str  # the API's root, no trailing slash
    api_key: str | None = field(default=None, repr=False)  # stdio only; over HTTP each request brings one
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS  # how often /help is re-read
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS  # per API call

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, needs_key: bool) -> SidecarConfig:
        url = env.get("BACKINSTOCK_API_URL", "").strip()
        if not url:
            raise MissingConfig("BACKINSTOCK_API_URL")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MissingConfig(f"BACKINSTOCK_API_URL (must be an http(s) URL, got {url!r})")
        key = env.get("BACKINSTOCK_API_KEY", "").strip() or None
        if needs_key and key is None:
            raise MissingConfig("BACKINSTOCK_API_KEY")
        return cls(
            api_url=url.rstrip("/"),
            api_key=key if needs_key else None,  # over HTTP the sidecar has no key of its own
            refresh_seconds=_seconds(env, "BACKINSTOCK_MCP_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS),
            timeout_seconds=_seconds(env, "BACKINSTOCK_MCP_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
        )
