"""Inputs of the signups actions. Unknown keys are refused (marshmallow's RAISE);
optional fields may be omitted or null, null meaning the default."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, post_load, validate, validates_schema

from api_service.booleans import StrictBoolean
from shared_models.listing import PageQuery
from api_service.signups.validators import CountryCode, Phone, check_http_url, check_locale
from shared_models.channels import CHANNELS
from shared_models.contacts import PHONE_SEPARATORS
from shared_models.signup_states import STATUSES

SCOPES = ("unsent", "sent", "all")
CONTACT_FIELD = {"email": "email", "sms": "phone", "push": "push_token"}  # the customer field each channel needs
SHOPIFY_ID = validate.Range(min=1, max=2**63 - 1)
MAX_IDS = 10_000


def check_phone_search(value: str) -> None:
    compact = PHONE_SEPARATORS.sub("", value)
    if not re.fullmatch(r"\+?[0-9]+", compact):
        raise ValidationError("Must be digits, optionally starting with +.")


def shopify_id(description: str, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=SHOPIFY_ID, metadata={"description": description}, **kwargs)


def text(max_length: int, description: str, **kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_length),
                         metadata={"description": description}, **kwargs)


def signup_ids(description: str, **kwargs: Any) -> fields.List:
    return fields.List(fields.UUID(), validate=validate.Length(min=1, max=MAX_IDS),
                       metadata={"description": description}, **kwargs)


class NullMeansDefault(Schema):
    @post_load
    def _defaults(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for name, field in self.fields.items():
            if name in data and data[name] is None and field.load_default not in (missing, None):
                data[name] = field.load_default
        return data


class SignupPath(Schema):
    signup_id = fields.UUID(required=True, data_key="id", metadata={"description": "Signup id"})


class CustomerIn(Schema):
    email = fields.Email(allow_none=True, validate=validate.Length(max=254),
                         metadata={"description": "Needed for the email channel"})
    phone = Phone(allow_none=True)
    push_token = text(1024, "Needed for the push channel")
    name = text(255, "Customer name")
    accepts_marketing = StrictBoolean(allow_none=True, metadata={"description": "Marketing consent"})
    locale = fields.String(allow_none=True, validate=[validate.Length(max=35), check_locale],
                           metadata={"description": "e.g. en, pt-BR"})
    country_code = CountryCode(allow_none=True, metadata={"description": "ISO 3166-1 alpha-2"})

    @post_load
    def _blank_is_none(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for key in ("name", "push_token"):
            if isinstance(data.get(key), str) and not data[key].strip():
                data[key] = None
        return data


class ProductIn(Schema):
    title = text(255, "Product title (fills the catalog until Shopify describes the variant)")
    variant_title = text(255, "Variant title, e.g. M / Blue")
    sku = text(255, "SKU")
    vendor = text(255, "Vendor")
    url = fields.String(allow_none=True, validate=[validate.Length(max=2048), check_http_url],
                        metadata={"description": "Product page, http(s) on one of the shop's domains",
                                  "jsonschema": {"type": "string", "format": "uri"}})


class SignupCreate(NullMeansDefault):
    variant_id = shopify_id("Shopify variant id", required=True)
    product_id = shopify_id("Shopify product id; may be omitted when the catalog knows the variant",
                            allow_none=True)
    inventory_item_id = shopify_id("Shopify inventory item id", allow_none=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    quantity = fields.Integer(strict=True, allow_none=True, load_default=1,
                              validate=validate.Range(min=1, max=10_000),
                              metadata={"description": "Units wanted, 1 to 10,000"})
    source = fields.String(allow_none=True, load_default="api", validate=validate.Length(min=1, max=64),
                           metadata={"description": "Where the signup came from"})
    customer = fields.Nested(CustomerIn, required=True)
    product = fields.Nested(ProductIn, allow_none=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _contact_for_channel(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        channel, raw = data.get("channel"), original.get("customer") if isinstance(original, dict) else None
        if channel not in CONTACT_FIELD or not isinstance(raw, dict):
            return  # the field errors already say what is wrong
        key = CONTACT_FIELD[channel]
        if raw.get(key) is None:
            raise ValidationError({"customer": {key: [f"Required for the {channel} channel."]}})


class SignupFilters(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    variant_id = fields.Integer(validate=SHOPIFY_ID, metadata={"description": "Shopify variant id"})
    product_id = fields.Integer(validate=SHOPIFY_ID, metadata={"description": "Shopify product id"})
    email = fields.String(validate=validate.Length(min=1, max=254),
                          metadata={"description": "Part of the customer's email, any case"})
    phone = fields.String(validate=[validate.Length(min=1, max=40), check_phone_search],
                          metadata={"description": "Part of the customer's phone number (digits, optional +)"})

    @post_load
    def _compact_phone(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("phone") is not None:
            data["phone"] = PHONE_SEPARATORS.sub("", data["phone"])
        return data


class SignupListQuery(SignupFilters, PageQuery):
    pass


class BulkFilter(SignupFilters, PageQuery):
    """The list filters without paging, for bulk_notify."""

    class Meta:
        exclude = ("page", "per_page")


class NotifyBody(NullMeansDefault):
    allow_resend = StrictBoolean(allow_none=True, load_default=False,
                                  metadata={"description": "Send again to an already notified signup"})


class BulkNotifyBody(NullMeansDefault):
    ids = signup_ids("Signup ids, 1 to 10,000 (or give filter)")
    filters = fields.Nested(BulkFilter, data_key="filter",
                            metadata={"description": "Any list filters (or give ids)"})
    allow_resend = StrictBoolean(allow_none=True, load_default=False,
                                  metadata={"description": "Send again to already notified signups"})
    batched = StrictBoolean(allow_none=True, load_default=False,
                             metadata={"description": "Apply the delivery batching settings"})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _ids_or_filter(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        given = [k for k in ("ids", "filter") if isinstance(original, dict) and original.get(k) is not None]
        if len(given) != 1:
            raise ValidationError("Give exactly one of ids or filter.", field_name="ids")


class BulkDeleteBody(Schema):
    ids = signup_ids("Signup ids, 1 to 10,000", required=True)


class TransferBody(NullMeansDefault):
    from_variant_id = shopify_id("Variant the signups are on", required=True)
    from_product_id = shopify_id("Product of that variant", required=True)
    to_variant_id = shopify_id("Variant to move them to", required=True)
    to_product_id = shopify_id("Product of the target variant", required=True)
    scope = fields.String(allow_none=True, load_default="unsent", validate=validate.OneOf(SCOPES),
                          metadata={"description": "unsent (not yet alerted; default), sent or all"})

    @validates_schema(skip_on_field_errors=False)
    def _different(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("from_variant_id") is not None and data.get("from_variant_id") == data.get("to_variant_id"):
            raise ValidationError("Must differ from from_variant_id.", field_name="to_variant_id")
