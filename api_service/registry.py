"""The one place actions are declared. Routes, /help, OpenAPI, the v1 aliases
and (through /help) the MCP tools are all generated from `all_actions()`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from marshmallow import Schema

from api_service.context import Call
from api_service.jsonschema import schema_to_jsonschema

BASE_PATH = "/api/v2/external"
V1_BASE_PATH = "/api/v1/external"
_NAME = re.compile(r"^[a-z0-9_]+$")

Handler = Callable[[Call], Awaitable[Any]]
FORMATS = ("json", "csv")  # what an action may answer in: application/json, text/csv


@dataclass(frozen=True)
class V1Alias:
    """The deprecated v1 call an action also serves, declared on that action:
    v1's method and path, its schemas (v1 names that load as the action's own
    input), the adapter that calls the action and reshapes its answer, and v1's
    statuses. api_service/v1/routes.py builds the route from it."""

    method: str
    path: str  # relative to V1_BASE_PATH, e.g. /intents/notify_intent
    operation_id: str  # in OpenAPI, e.g. v1_intents_notify
    adapter: Callable[[Call, "Action"], Awaitable[Any]]
    summary: str
    path_schema: type[Schema] | None = None
    query_schema: type[Schema] | None = None
    body_schema: type[Schema] | None = None
    status: int = 200
    other_statuses: tuple[tuple[int, str], ...] = ()  # documented besides 401/403/404/422/429

    @property
    def alias(self) -> str:
        """As /help lists it: "POST /api/v1/external/intents/notify_intent"."""
        return f"{self.method} {V1_BASE_PATH}{self.path}"


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    path: str  # relative to BASE_PATH, e.g. /back_in_stock/signups/{id}
    handler: Handler
    description: str
    resource: str  # a human name for 404s on path params: "Signup"
    path_schema: type[Schema] | None = None
    query_schema: type[Schema] | None = None
    body_schema: type[Schema] | None = None
    body_partial: bool = False  # PATCH: every field optional, nested ones too
    # The handler adds checks that need the shop and reports every error in one
    # 422: body field errors reach it in call.body_errors instead of raising.
    body_errors_to_handler: bool = False
    status: int = 200
    # Answers documented besides `status` and the codes every action has (meta/operations.responses).
    other_statuses: tuple[tuple[int, str], ...] = ()
    notes: str = ""
    v1: V1Alias | None = None  # the deprecated v1 call this action also serves
    destructive: bool = False
    idempotent: bool | None = None
    # Declared, not guessed from the query schema: run_action negotiates among
    # them (format=, then Accept), OpenAPI documents them and /help lists them.
    formats: tuple[str, ...] = ("json",)
    # The handler writes through a group commit (signups/groups.py): it claims
    # its Idempotency-Key inside its group's transaction (call.idempotency), and
    # may run on a cached key (auth.KeyCache), which that transaction checks again.
    coalesced: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"action name {self.name!r} must match {_NAME.pattern}")
        if not self.formats or self.formats[0] != "json" or not set(self.formats) <= set(FORMATS):
            raise ValueError(f"{self.name}: formats {self.formats!r} must start with json, among {FORMATS}")

    @property
    def aliases(self) -> tuple[str, ...]:
        return () if self.v1 is None else (self.v1.alias,)

    @property
    def scope(self) -> str:
        """The path's first segment ("back_in_stock", "jobs"): its /<scope>/help
        listing and its OpenAPI tag."""
        return self.path.strip("/").split("/")[0]

    @property
    def side_effects(self) -> bool:
        return self.method != "GET"

    @property
    def read_only(self) -> bool:
        return self.method == "GET"

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in ("GET", "PUT", "DELETE", "PATCH")

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def full_path(self) -> str:
        return BASE_PATH + self.path

    def request_schema(self) -> dict[str, Any]:
        """Path, query and body fields together, as one flat JSON Schema object."""
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for schema in (self.path_schema, self.query_schema, self.body_schema):
            if schema is None:
                continue
            part = schema_to_jsonschema(schema, partial=self.body_partial and schema is self.body_schema)
            merged["properties"].update(part["properties"])
            merged["required"].extend(part.get("required", []))
        if not merged["required"]:
            del merged["required"]
        merged["additionalProperties"] = False
        return merged

    def _fields(self, schema: type[Schema] | None) -> list[str]:
        return [] if schema is None else list(schema_to_jsonschema(schema)["properties"])

    def help_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "description": self.description,
            # Where each argument of request_schema goes: callers (the MCP
            # sidecar) place them by these lists instead of guessing by method.
            "path_params": self.path_params,
            "query_params": self._fields(self.query_schema),
            "body_params": self._fields(self.body_schema),
            "request_schema": self.request_schema(),
            "side_effects": self.side_effects,
            "destructive": self.destructive,
            "idempotent": self.is_idempotent,
            "aliases": list(self.aliases),
            "formats": list(self.formats),
            "notes": self.notes,
        }


def all_actions() -> list[Action]:
    """Every action, in the order of the contract's table."""
    # The actions modules themselves, not their packages: importing a package
    # (its schemas, for v1's) must not declare actions whose v1 adapters import it back.
    from api_service import data_requests
    from api_service.jobs import actions as jobs
    from api_service.notifications import actions as notifications
    from api_service.reports import actions as reports
    from api_service.settings import actions as settings
    from api_service.signups import actions as signups

    actions = [*signups.ACTIONS, *notifications.ACTIONS, *settings.ACTIONS,
               *reports.ACTIONS, *jobs.ACTIONS, *data_requests.ACTIONS]
    names = [a.name for a in actions]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"actions declared twice: {sorted(dupes)}")
    return actions
