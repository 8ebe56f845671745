"""The current tools, as last read from `/help`."""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Mapping

import mcp.types as types
from jsonschema import SchemaError

from mcp_sidecar.tools import ToolSpec

log = logging.getLogger("backinstock.mcp")


def fingerprint(help_body: Mapping[str, Any]) -> str:
    canonical = json.dumps([help_body.get("base_path"), help_body.get("actions")], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Catalog:
    """Swapped whole on a change, so a reader never sees half of two lists."""

    def __init__(self) -> None:
        self._specs: dict[str, ToolSpec] = {}
        self._fingerprint: str | None = None

    @property
    def loaded(self) -> bool:
        return self._fingerprint is not None

    def replace(self, help_body: Mapping[str, Any]) -> bool:
        """Takes a `/help` body; True when the tools differ from before."""
        digest = fingerprint(help_body)
        if digest == self._fingerprint:
            return False
        base_path = str(help_body.get("base_path") or "")
        specs: dict[str, ToolSpec] = {}
        for entry in help_body.get("actions") or []:
            try:
                spec = ToolSpec.from_help(entry, base_path)
            except (KeyError, TypeError, SchemaError) as exc:
                # One bad entry must not take the other tools down with it.
                log.warning("skipping a /help action the sidecar cannot use (%s): %r",
                            type(exc).__name__, entry.get("name") if isinstance(entry, dict) else entry)
                continue
            specs[spec.name] = spec
        self._specs = specs
        self._fingerprint = digest
        return True

    def tools(self) -> list[types.Tool]:
        return [spec.tool() for spec in self._specs.values()]

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        spec = self._specs.get(name)
        return spec.input_schema if spec else None
