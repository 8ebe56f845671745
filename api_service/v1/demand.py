"""v1 products_in_demand: the v2 report, its query under v1 names (loaded
by a copy of the report's own schema), pages of up to 500. JSON only: the v1
route declares no CSV (v1/routes.as_v1), so the call comes negotiated as JSON."""
from __future__ import annotations

from api_service.context import Call, Reply
from api_service.registry import Action
from api_service.v1.errors import v1_errors
from api_service.v1.output import v1_meta
from api_service.v1.schemas import DEMAND_RENAMES

REPORT_KEY = "products_in_demand"


async def products_in_demand(call: Call, v2: Action) -> Reply:
    with v1_errors(DEMAND_RENAMES):
        result = await v2.handler(call)
    body = result.body if isinstance(result, Reply) else result
    return Reply({"products": body[REPORT_KEY], "meta": v1_meta(body["meta"])})
