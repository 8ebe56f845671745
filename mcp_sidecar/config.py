"""The sidecar's settings: its section of the service's one Config
(shared_models.config, config.mcp), so that its variables are declared, checked
and documented with every other one. The sidecar imports neither process."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from shared_models.config import Config


@dataclass(frozen=True)
class SidecarConfig:
    api_url: str  # the API's root, no trailing slash
    api_key: str | None = field(default=None, repr=False)  # stdio only; over HTTP each request brings one
    refresh_seconds: float = 30.0  # how often /help is re-read
    timeout_seconds: float = 30.0  # per API call

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, needs_key: bool) -> SidecarConfig:
        required = ("BACKINSTOCK_API_URL", "BACKINSTOCK_API_KEY") if needs_key else ("BACKINSTOCK_API_URL",)
        mcp = Config.from_env(env, required=required).mcp
        return cls(
            api_url=mcp.api_url.strip().rstrip("/"),
            api_key=mcp.api_key.strip() if needs_key else None,  # over HTTP the sidecar has no key of its own
            refresh_seconds=mcp.refresh_seconds,
            timeout_seconds=mcp.timeout_seconds,
        )
