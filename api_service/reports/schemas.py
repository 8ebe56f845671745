"""Query parameters of the reports. Unknown parameters are refused (422), as
everywhere; from > to is checked once the shop's timezone is known."""
from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from api_service.booleans import QueryBoolean
from api_service.listing import DateOrTimestamp
from api_service.reports.manifest import DEMAND_FILTERS, FILTERS

CHANNELS = ("email", "sms", "push")
GRANULARITIES = ("day", "week", "month")
FORMATS = ("json", "csv")
SORTS = ("pending", "total", "last_requested_at")
SHOPIFY_ID = validate.Range(min=1, max=2**63 - 1)
# Dates far outside this range can't be turned into timestamps in every timezone.
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)


class ReportDate(DateOrTimestamp):
    default_error_messages = {**DateOrTimestamp.default_error_messages,
                              "range": "Must be between 1970-01-01 and 9998-12-31."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date | dt.datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
        if not FIRST_DAY <= day <= LAST_DAY:
            raise self.make_error("range")
        return parsed


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
