"""Which of an action's declared formats (registry `Action.formats`) a call is
answered in. The one place it is decided: run_action puts the choice on the
Call, handlers read `call.output_format`, and an action that declares JSON
only answers JSON whatever the caller asks."""
from __future__ import annotations

from collections.abc import Sequence

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv"}
# Where the query schema of a multi-format action loads `format=` (reports/schemas.py).
ASKED = "output_format"


def _accepted(accept: str, formats: Sequence[str]) -> dict[str, tuple[float, int]]:
    """format -> (q, -position) of its media type's first mention in Accept.
    Wildcards (*/*, text/*) prefer nothing: the default stands."""
    by_media = {MEDIA_TYPES[f]: f for f in formats}
    found: dict[str, tuple[float, int]] = {}
    for position, item in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in item.split(";")]
        fmt = by_media.get(media.lower())
        if fmt is None or fmt in found:
            continue
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        found[fmt] = (q, -position)
    return found


def output_format(formats: Sequence[str], asked: str | None, accept: str) -> str:
    """format=… wins (the query schema allowed only declared values); else the
    Accept header's best, by q then order; else the first declared (json)."""
    if len(formats) == 1:
        return formats[0]
    if asked is not None and asked in formats:
        return asked
    wanted = {f: rank for f, rank in _accepted(accept, formats).items() if rank[0] > 0}
    return max(wanted, key=wanted.__getitem__) if wanted else formats[0]
