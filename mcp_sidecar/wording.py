"""A JSON Schema error in the API's words. The tools' schemas are the API's
marshmallow schemas (api_service/jsonschema.py), so a bad argument is told
here what the API would answer for the same field: "Not a valid integer.",
"Must be one of: a, b.", "Missing data for required field."."""
from __future__ import annotations

from typing import Any

from jsonschema import ValidationError

# JSON Schema type -> marshmallow's message for a value of another type.
_NOT_A = {"integer": "Not a valid integer.", "number": "Not a valid number.", "string": "Not a valid string.",
          "boolean": "Not a valid boolean.", "array": "Not a valid list."}
# A string field with a format is a marshmallow field whose own "invalid" wins.
_NOT_A_FORMAT = {"email": "Not a valid email address.", "uuid": "Not a valid UUID.", "uri": "Not a valid URL.",
                 "date-time": "Not a valid datetime.", "date": "Not a valid date."}
NULL = "Field may not be null."
REQUIRED = "Missing data for required field."
UNKNOWN = "Unknown field."
WHOLE_NOT_OBJECT = "The body must be a JSON object."  # api_service.routing.run_action


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _range(schema: dict[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"Must be greater than or equal to {_number(low)} and less than or equal to {_number(high)}."
    if low is not None:
        return f"Must be greater than or equal to {_number(low)}."
    return f"Must be less than or equal to {_number(high)}."


def _length(schema: dict[str, Any], kind: str) -> str:
    low, high = schema.get(f"min{kind}"), schema.get(f"max{kind}")
    if low is not None and low == high:
        return f"Length must be {low}."
    if low is not None and high is not None:
        return f"Length must be between {low} and {high}."
    if low is not None:
        return f"Shorter than minimum length {low}."
    return f"Longer than maximum length {high}."


def _type(error: ValidationError) -> str:
    expected = error.schema.get("type")
    types = expected if isinstance(expected, list) else [expected]
    if error.instance is None and "null" not in types:
        return NULL
    first = next((t for t in types if t != "null"), None)
    if first == "object":
        # A nested schema (properties) or a free mapping, as marshmallow's Nested and Dict say.
        return "Invalid input type." if "properties" in error.schema else "Not a valid mapping type."
    if first == "string" and error.schema.get("format") in _NOT_A_FORMAT:
        return _NOT_A_FORMAT[error.schema["format"]]
    return _NOT_A.get(first, error.message)


def api_message(error: ValidationError) -> str:
    """The one message for an error that is about the value itself (not
    required/additionalProperties, which name other fields)."""
    validator = error.validator
    if validator == "type" and not error.absolute_path:  # the arguments as a whole, like a body
        return WHOLE_NOT_OBJECT
    if validator == "type":
        return _type(error)
    if validator == "enum":
        choices = [c for c in error.validator_value if c is not None]
        if error.instance is None:
            return NULL
        return "Must be one of: " + ", ".join(str(c) for c in choices) + "."
    if validator in ("minimum", "maximum"):
        return _range(error.schema)
    if validator in ("minLength", "maxLength"):
        return _length(error.schema, "Length")
    if validator in ("minItems", "maxItems"):
        return _length(error.schema, "Items")
    return error.message
