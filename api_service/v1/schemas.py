"""v1 request schemas. Each field is a copy of its v2 field under its v1 name
(data_key), so validation is v2's and what loads is v2's input."""
from __future__ import annotations

import copy
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from shared_models.listing import PageQuery, day_start
from api_service.booleans import QueryBoolean
from api_service.reports.schemas import DemandQuery
from api_service.signups.schemas import (
    BulkDeleteBody,
    CustomerIn,
    NotifyBody,
    NullMeansDefault,
    SignupCreate,
    SignupFilters,
    TransferBody,
    shopify_id,
)

V1_MAX_PER_PAGE = 500
# The contact each channel needs, by its v1 name (v1 says `push` for the token).
V1_CONTACT_FIELD = {"email": "email", "sms": "phone", "push": "push"}


def renamed(schema: type[Schema], attr: str, data_key: str | None = None) -> fields.Field:
    """A copy of `schema`'s field `attr`, read from `data_key` (v1's name)."""
    field = copy.copy(schema._declared_fields[attr])
    field.data_key = data_key
    return field


def v1_per_page() -> fields.Integer:
    return fields.Integer(load_default=50, validate=validate.Range(min=1, max=V1_MAX_PER_PAGE),
                          metadata={"description": f"Rows per page, 1 to {V1_MAX_PER_PAGE}"})


# --- create (authenticated and storefront) ------------------------------------

class V1Intent(NullMeansDefault):
    variant_id = renamed(SignupCreate, "variant_id", "shopify_variant_id")
    product_id = renamed(SignupCreate, "product_id", "shopify_product_id")
    inventory_item_id = renamed(SignupCreate, "inventory_item_id", "shopify_inventory_item_id")
    channel = renamed(SignupCreate, "channel")
    quantity = renamed(SignupCreate, "quantity")
    source = renamed(SignupCreate, "source")
    shopify_market_id = shopify_id("Shopify market id", allow_none=True)


class V1Customer(CustomerIn):
    push_token = renamed(CustomerIn, "push_token", "push")


class V1SignupCreate(Schema):
    """{"intent", "customer", "product"}; loads as v2's SignupCreate output."""

    intent = fields.Nested(V1Intent, required=True)
    customer = fields.Nested(V1Customer, required=True)
    product = renamed(SignupCreate, "product")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _contact_for_channel(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if not isinstance(original, dict):
            return
        intent, customer = original.get("intent"), original.get("customer")
        if not isinstance(intent, dict) or not isinstance(customer, dict):
            return  # the field errors already say what is wrong
        channel = intent.get("channel")
        if channel in V1_CONTACT_FIELD and customer.get(V1_CONTACT_FIELD[channel]) is None:
            key = V1_CONTACT_FIELD[channel]
            raise ValidationError({"customer": {key: [f"Required for the {channel} channel."]}})

    @post_load
    def _as_v2(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {**data["intent"], "customer": data["customer"], "product": data.get("product")}


# v2 paths of errors raised after validation (by the core) → v1 paths.
CREATE_RENAMES = {"variant_id": "intent.shopify_variant_id", "product_id": "intent.shopify_product_id",
                  "inventory_item_id": "intent.shopify_inventory_item_id", "channel": "intent.channel",
                  "quantity": "intent.quantity", "source": "intent.source",
                  "customer.push_token": "customer.push"}


# --- reads ---------------------------------------------------------------------

class V1IntentPath(Schema):
    signup_id = fields.UUID(required=True, data_key="id", metadata={"description": "Intent id"})


class V1ListQuery(SignupFilters):
    """v2's list filters under v1 names, plus `notified`; pages of up to 500."""

    class Meta:
        exclude = ("status", "channel")  # not v1 filters

    variant_id = renamed(SignupFilters, "variant_id", "shopify_variant_id")
    product_id = renamed(SignupFilters, "product_id", "shopify_product_id")
    date_from = renamed(PageQuery, "date_from", "start_date")
    date_to = renamed(PageQuery, "date_to", "end_date")
    notified = QueryBoolean(metadata={"description": "true: alerted at least once; false: never alerted"})
    page = renamed(PageQuery, "page")
    per_page = v1_per_page()

    @validates_schema
    def _range(self, data: dict[str, Any], **kwargs: Any) -> None:
        lo, hi = data.get("date_from"), data.get("date_to")
        if lo is not None and hi is not None and day_start(lo, "UTC") > day_start(hi, "UTC"):
            raise ValidationError("Must not be after 'end_date'.", field_name="start_date")


class V1DemandQuery(DemandQuery):
    """The v2 report's query under v1 names, JSON only, pages of up to 500."""

    class Meta:
        exclude = ("output_format",)

    variant_id = renamed(DemandQuery, "variant_id", "shopify_variant_id")
    product_id = renamed(DemandQuery, "product_id", "shopify_product_id")
    date_from = renamed(DemandQuery, "date_from", "start_date")
    date_to = renamed(DemandQuery, "date_to", "end_date")
    per_page = v1_per_page()


# v2 paths of errors raised by the report → v1 names.
DEMAND_RENAMES = {"variant_id": "shopify_variant_id", "product_id": "shopify_product_id",
                  "from": "start_date", "to": "end_date"}


# --- actions -------------------------------------------------------------------

class V1NotifyBody(NotifyBody):
    signup_id = fields.UUID(required=True, data_key="id", metadata={"description": "Intent id"})


class V1BulkNotifyBody(NullMeansDefault):
    ids = renamed(BulkDeleteBody, "ids", "intent_ids")
    allow_resend = renamed(NotifyBody, "allow_resend")


class V1BulkDestroyBody(Schema):
    ids = renamed(BulkDeleteBody, "ids", "intent_ids")


class V1TransferBody(NullMeansDefault):
    from_variant_id = renamed(TransferBody, "from_variant_id", "from_shopify_variant_id")
    from_product_id = renamed(TransferBody, "from_product_id", "from_shopify_product_id")
    to_variant_id = renamed(TransferBody, "to_variant_id", "to_shopify_variant_id")
    to_product_id = renamed(TransferBody, "to_product_id", "to_shopify_product_id")
    scope = renamed(TransferBody, "scope", "intent_type")

    @validates_schema(skip_on_field_errors=False)
    def _different(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("from_variant_id") is not None and data.get("from_variant_id") == data.get("to_variant_id"):
            raise ValidationError("Must differ from from_shopify_variant_id.", field_name="to_shopify_variant_id")
