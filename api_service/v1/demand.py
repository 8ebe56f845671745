"""v1 products_in_demand: the v2 report, its query under v1 names (loaded
by a copy of the report's own schema), JSON only, pages of up to 500."""
from __future__ import annotations

import dataclasses

from api_service.context import Call, Reply
from api_service.registry import Action
from api_service.v1.errors import v1_errors
from api_service.v1.output import v1_meta
from api_service.v1.schemas import DEMAND_RENAMES

REPORT_KEY = "products_in_demand"


async def products_in_demand(call: Call, v2: Action) -> Reply:
    # v1 had no CSV: JSON whatever the Accept header says.
    query = {**call.query, "output_format": "json"}
    with v1_errors(DEMAND_RENAMES):
        result = await v2.handler(dataclasses.replace(call, query=query))
    body = result.body if isinstance(result, Reply) else result
    return Reply({"products": body[REPORT_KEY], "meta": v1_meta(body["meta"])})
