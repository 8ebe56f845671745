"""The one way a served handler enters the OpenAPI document. apigami's
decorators are applied here and nowhere else, to the v2 actions
(routing.make_handler), their v1 aliases (v1/routes.py) and the storefront
signup (v1/storefront.py); what an action answers is worked out here from its
declaration. The paths that are not handlers of ours are in meta/openapi.py."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp_apigami import docs, json_schema, querystring_schema
from aiohttp_apigami.constants import API_SPEC_ATTR
from marshmallow import Schema

from api_service.negotiation import MEDIA_TYPES
from api_service.registry import Action

H = TypeVar("H", bound=Callable[..., Any])

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}}
# What every action can answer, whatever it declares: run_action and the middleware give these.
COMMON = ((401, "Missing or invalid API key"), (404, "Not found"), (422, "Validation error"),
          (429, "Rate limited (see Retry-After)"), (503, "A dependency (PostgreSQL, Redis) is down"))
# Set on every handler `document` decorated: tests check that each documented route went through it.
DOCUMENTED = "__documented_once__"


def error(text: str) -> dict[str, Any]:
    return {"description": text, **ERROR}


def _success_content(action: Action) -> dict[str, Any]:
    """One media type per declared format (format=csv or Accept: text/csv)."""
    schemas = {"json": {"type": "object"}, "csv": {"type": "string"}}
    return {MEDIA_TYPES[f]: {"schema": schemas[f]} for f in action.formats}


def responses(action: Action, success_headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every status the action can answer, so that the document tells the truth:
    its own, its other_statuses, and those run_action and the middleware give."""
    success: dict[str, Any] = {"content": _success_content(action)}
    if success_headers:
        success = {"headers": success_headers, **success}
    if action.status == 204:
        out: dict[str, Any] = {"204": {"description": "No content"}}
    else:
        out = {str(action.status): {"description": "Success", **success}}
    for code, text in action.other_statuses:
        out[str(code)] = {"description": text, **(ERROR if code >= 400 else success)}
    codes = list(COMMON)
    if action.side_effects:
        codes.append((403, "Read-only key"))
    if action.body_schema is not None:
        codes += [(400, "Malformed JSON"), (413, "Body larger than 1 MiB")]
    if action.method == "POST":
        codes.append((409, "A request with this Idempotency-Key is still being handled"))
    for code, text in codes:
        out.setdefault(str(code), error(text))
    return dict(sorted(out.items()))


def document(handler: H, *, operation_id: str, tags: list[str], summary: str, description: str,
             responses: dict[str, Any], body_schema: type[Schema] | None = None,
             query_schema: type[Schema] | None = None, **extra: Any) -> H:
    """`handler` annotated for apigami, which builds the document from the
    routes at startup. apigami annotates the function itself: give each app a
    fresh function."""
    decorated: Any = handler
    if body_schema is not None:
        decorated = json_schema(body_schema)(decorated)
    if query_schema is not None:
        decorated = querystring_schema(query_schema)(decorated)
    decorated = docs(operation_id=operation_id, tags=tags, summary=summary, description=description,
                     responses=responses, **extra)(decorated)
    # apigami's docs() always adds Swagger 2's "produces", invalid in OpenAPI 3.
    getattr(decorated, API_SPEC_ATTR).pop("produces", None)
    setattr(decorated, DOCUMENTED, operation_id)
    return decorated


def document_action(handler: H, action: Action, *, tags: list[str], summary: str | None = None,
                    description: str | None = None, success_headers: dict[str, Any] | None = None,
                    **extra: Any) -> H:
    """An action's handler (v2, or v1's stand-in for one): its name, schemas
    and answers from its declaration; summary and description from its text
    unless given."""
    return document(
        handler, operation_id=action.name, tags=tags,
        summary=summary if summary is not None else action.description.split(". ")[0],
        description=(description if description is not None
                     else action.description + ("\n\n" + action.notes if action.notes else "")),
        responses=responses(action, success_headers), body_schema=action.body_schema,
        query_schema=action.query_schema, **extra)
