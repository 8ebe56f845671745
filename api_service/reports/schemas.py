"""Query parameters of the reports. Unknown parameters are refused (422), as
everywhere; from > to is checked once the shop's timezone is known."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api_service.booleans import QueryBoolean
from shared_models.channels import CHANNELS
from shared_models.listing import DateOrTimestamp
from api_service.reports.manifest import DEMAND_FILTERS, FILTERS

GRANULARITIES = ("day", "week", "month")
FORMATS = ("json", "csv")
SORTS = ("pending", "total", "last_requested_at")
SHOPIFY_ID = validate.Range(min=1, max=2**63 - 1)
# The range check is DateOrTimestamp's own (listing.FIRST_DAY, LAST_DAY).
ReportDate = DateOrTimestamp


def _described(name: str, table: dict[str, str]) -> dict[str, Any]:
    return {"description": table[name]}


class ReportQuery(Schema):
    date_from = ReportDate(data_key="from", metadata=_described("from", FILTERS))
    date_to = ReportDate(data_key="to", metadata=_described("to", FILTERS))
    variant_id = fields.Integer(validate=SHOPIFY_ID, metadata=_described("variant_id", FILTERS))
    product_id = fields.Integer(validate=SHOPIFY_ID, metadata=_described("product_id", FILTERS))
    channel = fields.String(validate=validate.OneOf(CHANNELS), metadata=_described("channel", FILTERS))
    granularity = fields.String(load_default="day", validate=validate.OneOf(GRANULARITIES),
                                metadata=_described("granularity", FILTERS))
    output_format = fields.String(data_key="format", validate=validate.OneOf(FORMATS),
                                  metadata=_described("format", FILTERS))
    bom = QueryBoolean(load_default=False, metadata=_described("bom", FILTERS))


class DemandQuery(ReportQuery):
    sort = fields.String(load_default="pending", validate=validate.OneOf(SORTS),
                         metadata=_described("sort", DEMAND_FILTERS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000),
                          metadata=_described("page", DEMAND_FILTERS))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                              metadata=_described("per_page", DEMAND_FILTERS))


class ListQuery(Schema):
    """GET /back_in_stock/reports takes no parameters."""
