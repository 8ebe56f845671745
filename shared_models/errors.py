"""One error base class; the error middleware renders it as {"errors": [...]}."""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    headers: dict[str, str] | None = None

    def __init__(self, *messages: str, fields: dict[str, list[str]] | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(messages[0] if messages else self.__class__.__name__)
        self.messages = list(messages) or ["error"]
        self.fields = fields
        if status is not None:
            self.status = status
        if headers is not None:
            self.headers = headers

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errors": self.messages}
        if self.fields is not None:
            body["fields"] = self.fields
        return body


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422

    @classmethod
    def from_fields(cls, fields: dict[str, list[str]]) -> "Unprocessable":
        messages = [f"{path}: {msg}" if path else msg
                    for path, msgs in sorted(fields.items()) for msg in msgs]
        return cls(*messages, fields=fields)


class TooManyRequests(ApiError):
    status = 429


class ServiceUnavailable(ApiError):
    status = 503


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested error dict as dotted paths (`customer.email`)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for p, msgs in flatten_errors(value, path).items():
                out.setdefault(p, []).extend(msgs)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.setdefault(prefix, []).extend(messages)
    elif isinstance(messages, list):
        for item in messages:
            for p, msgs in flatten_errors(item, prefix).items():
                out.setdefault(p, []).extend(msgs)
    else:
        out.setdefault(prefix, []).append(str(messages))
    return out
