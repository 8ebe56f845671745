"""Marshmallow schemas as plain JSON Schema (for /help and the MCP tools).

Inline (no $ref), so that every tool's input schema stands on its own.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, missing, validate

_TYPES: list[tuple[type, dict[str, Any]]] = [
    (fields.UUID, {"type": "string", "format": "uuid"}),
    (fields.Email, {"type": "string", "format": "email"}),
    (fields.URL, {"type": "string", "format": "uri"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.Decimal, {"type": "string"}),
    (fields.Boolean, {"type": "boolean"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Float, {"type": "number"}),
    (fields.Number, {"type": "number"}),
    (fields.String, {"type": "string"}),
    (fields.Dict, {"type": "object"}),
]


def field_schema(field: fields.Field, partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(field, fields.Nested):
        nested = field.schema
        out = schema_to_jsonschema(nested, partial=partial)
        if field.many:
            out = {"type": "array", "items": out}
    elif isinstance(field, fields.List):
        out = {"type": "array", "items": field_schema(field.inner, partial)}
    else:
        out = {"type": "string"}
        for ftype, props in _TYPES:
            if isinstance(field, ftype):
                out = dict(props)
                break
        # Fields that declare their own JSON Schema (e.g. "string or date").
        out.update(field.metadata.get("jsonschema", {}))
    for v in _validators(field):
        if isinstance(v, validate.OneOf):
            out["enum"] = list(v.choices)
        elif isinstance(v, validate.Range):
            if v.min is not None:
                out["minimum"] = v.min
            if v.max is not None:
                out["maximum"] = v.max
        elif isinstance(v, validate.Length):
            key = "Items" if out.get("type") == "array" else "Length"
            if v.min is not None:
                out[f"min{key}"] = v.min
            if v.max is not None:
                out[f"max{key}"] = v.max
    if field.metadata.get("description"):
        out["description"] = field.metadata["description"]
    default = field.load_default
    if default is not missing and default is not None and not callable(default):
        out["default"] = default
    if field.allow_none:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _validators(field: fields.Field) -> list[Any]:
    return list(getattr(field, "validators", []) or [])


def schema_to_jsonschema(schema: Schema | type[Schema], partial: bool = False) -> dict[str, Any]:
    if isinstance(schema, type):
        schema = schema()
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        properties[key] = field_schema(field, partial)
        if field.required and not partial:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out
