"""One tool per `/help` action: its MCP `Tool`, the check of a call's
arguments against its `request_schema`, and the split of those arguments
into path, query and body. Nothing here names an action: it all comes from
the data, so a new action in the registry is a new tool without a change here."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import quote

import mcp.types as types
from jsonschema import Draft202012Validator, ValidationError

from mcp_sidecar.wording import REQUIRED, UNKNOWN, api_message

# /help says where each argument goes (path_params, query_params, body_params);
# only an API too old to say is guessed by method: these methods' arguments
# then travel as a JSON body, the others' in the query string.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class HttpCall:
    method: str
    path: str  # from the API root, path params filled in
    query: dict[str, str]
    body: dict[str, Any] | None


def query_value(value: Any) -> str:
    # As a browser or curl user would write them: true/false, 50, plain strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _dotted(parts: Iterable[Any], name: str | None = None) -> str:
    keys = [str(p) for p in parts]
    if name is not None:
        keys.append(name)
    return ".".join(keys)


def describe_error(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(dotted field, message) pairs, worded and keyed like the API's 422 `fields`."""
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance:
                yield _dotted(error.absolute_path, name), REQUIRED
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        for name in instance:
            if name not in known:
                yield _dotted(error.absolute_path, name), UNKNOWN
    else:
        yield _dotted(error.absolute_path), api_message(error)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    method: str
    path: str  # from the API root, with {placeholders}
    description: str
    input_schema: dict[str, Any]
    path_params: tuple[str, ...]
    query_params: tuple[str, ...] | None  # None: decided by the method
    read_only: bool
    destructive: bool
    idempotent: bool
    validator: Draft202012Validator = field(compare=False, repr=False)

    @classmethod
    def from_help(cls, entry: Mapping[str, Any], base_path: str) -> ToolSpec:
        """Raises KeyError/TypeError on a malformed entry and SchemaError on a bad schema."""
        schema = entry["request_schema"]
        Draft202012Validator.check_schema(schema)
        method = str(entry["method"]).upper()
        notes = entry.get("notes") or ""
        description = entry.get("description") or ""
        query_params = entry.get("query_params")
        return cls(
            name=entry["name"],
            method=method,
            path=base_path + entry["path"],
            description=f"{description}\n\n{notes}" if notes else description,
            input_schema=schema,
            path_params=tuple(entry.get("path_params") or ()),
            query_params=tuple(query_params) if query_params is not None else None,
            read_only=not entry.get("side_effects", method != "GET"),
            destructive=bool(entry.get("destructive", method == "DELETE")),
            idempotent=bool(entry.get("idempotent", False)),
            validator=Draft202012Validator(schema),
        )

    def tool(self) -> types.Tool:
        # Hints beside readOnlyHint only mean something for tools that write;
        # destructiveHint defaults to true, so a non-destructive write says false.
        annotations = types.ToolAnnotations(
            read_only_hint=self.read_only,
            destructive_hint=None if self.read_only else self.destructive,
            idempotent_hint=self.idempotent,
        )
        return types.Tool(name=self.name, description=self.description,
                          input_schema=self.input_schema, annotations=annotations)

    def argument_errors(self, arguments: Any) -> dict[str, list[str]]:
        """Every way the arguments miss the schema, by dotted field ("" for the whole)."""
        fields: dict[str, list[str]] = {}
        errors = sorted(self.validator.iter_errors(arguments), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            for key, message in describe_error(error):
                messages = fields.setdefault(key, [])
                if message not in messages:
                    messages.append(message)
        return fields

    def http_call(self, arguments: Mapping[str, Any]) -> HttpCall:
        """Arguments already checked: path params into the path, the rest by
        `query_params` when /help names them, else by method."""
        path = self.path
        rest: dict[str, Any] = {}
        for name, value in arguments.items():
            if name in self.path_params:
                path = path.replace("{" + name + "}", quote(query_value(value), safe=""))
            else:
                rest[name] = value
        if self.query_params is not None:
            in_query = {k: v for k, v in rest.items() if k in self.query_params}
            in_body = {k: v for k, v in rest.items() if k not in self.query_params}
        elif self.method in BODY_METHODS:
            in_query, in_body = {}, rest
        else:
            in_query, in_body = rest, {}
        # null in a query string has no spelling: an absent filter is the same thing.
        query = {k: query_value(v) for k, v in in_query.items() if v is not None}
        body = in_body if (in_body or self.method in BODY_METHODS) else None
        return HttpCall(self.method, path, query, body)
