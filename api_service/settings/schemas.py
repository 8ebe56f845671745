"""The settings documents as marshmallow schemas: the PATCH bodies (loaded with
partial=True, so every field at every depth is optional) and, through /help,
their JSON Schema. Unknown keys raise (marshmallow's default) and are 422."""
from __future__ import annotations

from collections import Counter
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api_service.booleans import StrictBoolean
from shared_models.settings import COUNTRY_CODES
from shared_models.templates import SUBJECT_VARIABLES, template_errors

TEXT_MAX = 255
EMAIL_MAX = 254  # RFC 5321's limit on a forward path
LIST_MAX = 100
TAG_MAX = 40  # Shopify's limit on one tag
INT_MAX = 2_147_483_647  # fits a PostgreSQL integer
SHOPIFY_ID = validate.Range(min=1, max=2**63 - 1)


def int_field(**kwargs: Any) -> fields.Integer:
    # strict: 5.0 and "5" are not integers in a JSON API (booleans never are)
    return fields.Integer(strict=True, **kwargs)


def _no_control_chars(value: str) -> None:
    # Sender names and subjects end up in email headers.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("Must not contain control characters (newlines, tabs...).")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _unique(values: list[Any]) -> None:
    # Linear: a body may hold a very long list (Length reports that separately).
    repeated = [value for value, count in Counter(values).items() if count > 1]
    if repeated:
        raise ValidationError(f"Must not repeat a value: {', '.join(map(str, repeated))}.")


def _increasing(values: list[int]) -> None:
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValidationError("Stages must be strictly increasing, e.g. [3, 7].")


def _template(value: str) -> None:
    if len(value) > TEXT_MAX:
        return  # Length reports it; parsing a huge template would only cost time
    errors = template_errors(value, SUBJECT_VARIABLES)
    if errors:
        raise ValidationError(errors)


def _country(value: str) -> None:
    if value not in COUNTRY_CODES:
        hint = f" (did you mean {value.upper()!r}?)" if value.upper() in COUNTRY_CODES else ""
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}.")


def _tag(value: str) -> None:
    if "," in value:
        raise ValidationError("A Shopify tag must not contain a comma.")
    if value != value.strip():
        raise ValidationError("A Shopify tag must not start or end with spaces.")


def tag_field(**kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(max=TAG_MAX), _not_blank, _tag], **kwargs)


def list_field(inner: fields.Field, *, max_items: int = LIST_MAX, min_items: int = 0,
               extra: tuple[Any, ...] = (_unique,), **kwargs: Any) -> fields.List:
    length = validate.Length(min=min_items or None, max=max_items)
    return fields.List(inner, validate=[length, *extra], **kwargs)


# channels -----------------------------------------------------------------

class EmailChannelSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Send alerts by email."})
    sender_name = fields.String(
        allow_none=True, validate=[validate.Length(max=TEXT_MAX), _not_blank, _no_control_chars],
        metadata={"description": "The From name of alert emails; null: the shop's name."})
    reply_to = fields.Email(
        allow_none=True, validate=validate.Length(max=EMAIL_MAX),
        metadata={"description": "Reply-To address of alert emails; null: none."})
    subject = fields.String(
        validate=[validate.Length(max=TEXT_MAX), _not_blank, _no_control_chars, _template],
        metadata={"description": "Subject template, rendered in Jinja2's sandbox. Variables: "
                  + ", ".join("{{ %s }}" % v for v in SUBJECT_VARIABLES)
                  + "; also {% if %} and the filters upper, lower, title, capitalize, trim, "
                    "truncate, default."})


class SmsChannelSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Send alerts by SMS (paid plans only)."})


class PushChannelSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Send alerts as push notifications."})


class ChannelsSettings(Schema):
    email = fields.Nested(EmailChannelSettings, metadata={"description": "Email alerts."})
    sms = fields.Nested(SmsChannelSettings, metadata={"description": "SMS alerts."})
    push = fields.Nested(PushChannelSettings, metadata={"description": "Push alerts."})


# delivery -----------------------------------------------------------------

class RemindersSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Remind alerted signups that have not bought."})
    after_days = list_field(
        int_field(validate=validate.Range(min=1, max=30)),
        min_items=1, max_items=2, extra=(_increasing,),
        metadata={"description": "Days after the first alert to send each reminder: one or two "
                                 "stages, each 1 to 30, strictly increasing."})


class DeliverySettings(Schema):
    auto_send = StrictBoolean(metadata={"description": "Alert waiting signups automatically on a restock."})
    min_restock_quantity = int_field(
        validate=validate.Range(min=1, max=INT_MAX),
        metadata={"description": "Available quantity a variant must reach for a restock."})
    batch_size = int_field(
        allow_none=True, validate=validate.Range(min=1, max=10_000),
        metadata={"description": "Alerts per batch, 1 to 10,000 (paid plans only); "
                                 "null: everyone at once."})
    batch_interval_minutes = int_field(
        validate=validate.Range(min=0, max=1_440),
        metadata={"description": "Minutes between batches, 0 to 1,440."})
    order = fields.String(
        validate=validate.OneOf(("oldest_first", "newest_first")),
        metadata={"description": "Which waiting signups are alerted first."})
    skip_if_sold_out = StrictBoolean(
        metadata={"description": "Do not send a batch (the first included) if the variant sold out since the restock."})
    only_when_published = StrictBoolean(
        metadata={"description": "Hold a restock of an unpublished product until it is published."})
    location_ids = list_field(
        int_field(validate=SHOPIFY_ID),
        metadata={"description": "Shopify location ids whose stock counts; empty: all locations."})
    reminders = fields.Nested(RemindersSettings, metadata={"description": "Reminder alerts."})


# compliance ---------------------------------------------------------------

class ComplianceSettings(Schema):
    optin_required = StrictBoolean(
        metadata={"description": "Signups must confirm (double opt-in) before they are alerted."})
    sms_allowed_countries = list_field(
        fields.String(validate=_country, metadata={"jsonschema": {"pattern": "^[A-Z]{2}$"}}),
        max_items=len(COUNTRY_CODES),
        metadata={"description": "Uppercase ISO 3166-1 alpha-2 codes of the countries SMS may go "
                                 "to, e.g. [\"US\", \"CA\"]; empty: all."})
    data_retention_days = int_field(
        allow_none=True, validate=validate.Range(min=30, max=3_650),
        metadata={"description": "Days to keep signups' contact details, 30 to 3,650; null: forever."})


# tagging ------------------------------------------------------------------

class OrderTagSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Tag orders attributed to an alert."})
    tag = tag_field(metadata={"description": "The order tag: 1 to 40 characters, no commas."})


class TaggingSettings(Schema):
    order_tag = fields.Nested(OrderTagSettings, metadata={"description": "Tag on attributed orders."})
    customer_tags = list_field(
        tag_field(),
        metadata={"description": "Tags added on Shopify to each customer who signs up, once per "
                                 "customer (found by Shopify id, email or phone; one not found yet is "
                                 "looked for daily for 30 days; needs the shop's Admin API token). Each "
                                 "1 to 40 characters, no commas."})


# alerts -------------------------------------------------------------------

class HighDemandSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Email the recipients when a variant is in demand."})
    threshold = int_field(
        validate=validate.Range(min=1, max=INT_MAX),
        metadata={"description": "Waiting signups on one variant that trigger the email."})


class UsageWarningSettings(Schema):
    enabled = StrictBoolean(metadata={"description": "Email the recipients once a month at the percent."})
    percent = int_field(
        validate=validate.Range(min=1, max=100),
        metadata={"description": "Percent of the plan's monthly alerts, 1 to 100."})


class ReportEmailsSettings(Schema):
    frequency = fields.String(
        validate=validate.OneOf(("off", "daily", "weekly", "monthly")),
        metadata={"description": "How often reports are emailed."})
    recipients = list_field(
        fields.Email(validate=validate.Length(max=EMAIL_MAX)),
        metadata={"description": "Who receives every merchant email (high demand, usage warning, "
                                 "reports)."})


class AlertsSettings(Schema):
    high_demand = fields.Nested(HighDemandSettings, metadata={"description": "High-demand emails."})
    usage_warning = fields.Nested(UsageWarningSettings, metadata={"description": "Plan usage warning."})
    report_emails = fields.Nested(ReportEmailsSettings, metadata={"description": "Scheduled reports."})


CAPABILITY_SCHEMAS: dict[str, type[Schema]] = {
    "channels": ChannelsSettings,
    "delivery": DeliverySettings,
    "compliance": ComplianceSettings,
    "tagging": TaggingSettings,
    "alerts": AlertsSettings,
}


class AllSettings(Schema):
    channels = fields.Nested(ChannelsSettings, metadata={"description": "Channels: email, SMS, push."})
    delivery = fields.Nested(DeliverySettings, metadata={"description": "When and how alerts go out."})
    compliance = fields.Nested(ComplianceSettings, metadata={"description": "Consent and data rules."})
    tagging = fields.Nested(TaggingSettings, metadata={"description": "Shopify tags."})
    alerts = fields.Nested(AlertsSettings, metadata={"description": "Merchant emails."})


# PATCH bodies: the capability documents themselves (body_partial makes every
# field optional; body_errors_to_handler lets plan checks join field errors).
CAPABILITY_BODIES: dict[str, type[Schema]] = dict(CAPABILITY_SCHEMAS)
SETTINGS_BODY = AllSettings
