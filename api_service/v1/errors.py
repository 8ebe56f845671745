"""v2 errors in v1's words: field paths renamed, "signup" said "intent"."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from shared_models.errors import ApiError, Unprocessable


class V1Error(ApiError):
    """Already in v1's words: passed through untouched."""


_SIGNUP = re.compile(r"\b([Ss])ignup(s?)\b")


def v1_wording(message: str) -> str:
    return _SIGNUP.sub(lambda m: ("I" if m.group(1) == "S" else "i") + "ntent" + m.group(2), message)


def rename_path(path: str, renames: Mapping[str, str]) -> str:
    """The longest renamed prefix wins: `product_id` → `intent.shopify_product_id`."""
    for old in sorted(renames, key=len, reverse=True):
        if path == old or path.startswith(old + "."):
            return renames[old] + path[len(old):]
    return path


def translate(exc: ApiError, renames: Mapping[str, str] | None = None) -> ApiError:
    if isinstance(exc, V1Error):
        return exc
    renames = renames or {}
    if exc.fields is not None:
        fields = {rename_path(p, renames): [v1_wording(m) for m in msgs] for p, msgs in exc.fields.items()}
        out: ApiError = Unprocessable.from_fields(fields)
        if exc.messages != Unprocessable.from_fields(exc.fields).messages:
            out.messages = [v1_wording(m) for m in exc.messages]  # a summary, not one line per field
        out.status = exc.status
    else:
        out = ApiError(*[v1_wording(m) for m in exc.messages], status=exc.status)
    out.headers = exc.headers
    return out


@contextmanager
def v1_errors(renames: Mapping[str, str] | None = None) -> Iterator[None]:
    """Errors raised by the v2 code inside the block come out in v1's words."""
    try:
        yield
    except ApiError as exc:
        raise translate(exc, renames) from None
