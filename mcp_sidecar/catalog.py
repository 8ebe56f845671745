"""The current tools, as last read from `/help`."""
from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
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

    def tools(self, read_only: bool = False) -> list[types.Tool]:
        """A read-only key is offered only the tools it may call (the API answers 403 to the rest)."""
        return [spec.tool() for spec in self._specs.values() if spec.read_only or not read_only]

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        spec = self._specs.get(name)
        return spec.input_schema if spec else None


class KeyModes:
    """Whether each recent key is read-only, as /help last said, for listing
    while the API is unreachable. Keys are held only as digests, and few."""

    MAX_KEYS = 1000

    def __init__(self) -> None:
        self._modes: OrderedDict[str, bool] = OrderedDict()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def remember(self, key: str, help_body: Mapping[str, Any]) -> bool:
        mode = help_body.get("key")
        read_only = bool(mode.get("read_only")) if isinstance(mode, dict) else False
        digest = self._digest(key)
        self._modes[digest] = read_only
        self._modes.move_to_end(digest)
        while len(self._modes) > self.MAX_KEYS:
            self._modes.popitem(last=False)
        return read_only

    def forget(self, key: str) -> None:
        self._modes.pop(self._digest(key), None)

    def get(self, key: str) -> bool:
        """Unknown keys get the whole list: their calls still go through the API's checks."""
        return self._modes.get(self._digest(key), False)
