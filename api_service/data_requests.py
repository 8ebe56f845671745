"""customers/data_request exports: what we hold on one customer, as the
dispatcher found it when Shopify asked (dispatcher/webhooks/erasure.py),
kept for the merchant for 30 days (dispatcher/retention.py)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from api_service.context import Call
from shared_models.errors import NotFound
from api_service.registry import Action
from shared_models.jsonutil import isoformat

LIST = """
SELECT request_id, shopify_request_id, created_at,
       jsonb_build_object('customers', jsonb_array_length(export -> 'customers'),
                          'signups', jsonb_array_length(export -> 'signups'),
                          'notifications', jsonb_array_length(export -> 'notifications'),
                          'orders', jsonb_array_length(export -> 'orders')) AS counts
FROM data_requests WHERE shop_id = $1
ORDER BY created_at DESC, request_id DESC
LIMIT 100
"""
READ = """
SELECT request_id, shopify_request_id, created_at, export FROM data_requests
WHERE shop_id = $1 AND request_id = $2
"""


class DataRequestPath(Schema):
    id = fields.UUID(required=True, metadata={"description": "Data request export id"})


def _out(row: Any) -> dict[str, Any]:
    out = {"id": str(row["request_id"]), "shopify_request_id": row["shopify_request_id"],
           "created_at": isoformat(row["created_at"])}
    if "counts" in row.keys():
        out["counts"] = row["counts"]
    if "export" in row.keys():
        out["export"] = row["export"]
    return out


async def list_data_requests(call: Call) -> dict[str, Any]:
    return {"data_requests": [_out(r) for r in await call.pool.fetch(LIST, call.shop.shop_id)]}


async def read_data_request(call: Call) -> dict[str, Any]:
    row = await call.pool.fetchrow(READ, call.shop.shop_id, call.path["id"])
    if row is None:
        raise NotFound("Data request not found")
    return _out(row)


ACTIONS = [
    Action(
        name="back_in_stock_data_requests_list",
        method="GET",
        path="/back_in_stock/data_requests",
        handler=list_data_requests,
        description="List the exports made for Shopify's customers/data_request webhooks, newest first.",
        notes="Each export holds what the service stores on the customer named by the request (their "
              "customer records, signups, notifications and orders). Kept for 30 days; erased by a later "
              "customers/redact of the same customer. At most the 100 newest.",
        resource="Data request",
    ),
    Action(
        name="back_in_stock_data_requests_read",
        method="GET",
        path="/back_in_stock/data_requests/{id}",
        handler=read_data_request,
        description="Read one customers/data_request export: the JSON to hand to the customer.",
        resource="Data request",
        path_schema=DataRequestPath,
    ),
]
