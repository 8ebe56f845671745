"""What the customer receives: alerts, opt-in confirmations, and merchant emails.

Bodies are our own templates, rendered in Jinja2's sandbox with autoescape for
HTML; the subject is the shop's template (shared_models.templates, also
sandboxed). Every alert names the product and links to it through /t/{token};
emails carry the unsubscribe link and the RFC 8058 one-click headers; SMS end
with an opt-out line.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import lru_cache

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from dispatcher.channels.base import Message
from shared_models import tokens
from shared_models.settings import DEFAULTS, EmailChannel
from shared_models.naming import SHOPIFY_DEFAULT_VARIANT, product_name
from shared_models.templates import RenderError, render_line

DEFAULT_SUBJECT: str = DEFAULTS["channels"]["email"]["subject"]
SMS_OPT_OUT = "Reply STOP to opt out"
SMS_PRODUCT_CHARS = 60  # keeps an SMS to a couple of segments
SMS_SHOP_CHARS = 30
# A variant whose title no trusted source (Shopify, the merchant's key) gave:
# the message names no product rather than text a stranger may have typed.
NEUTRAL_ITEM = "An item you asked about"

_HTML = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_TEXT = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

_LAYOUT_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }}</title></head>
<body style="margin:0;padding:0;background:#f4f4f5;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#18181b;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:520px;background:#ffffff;border-radius:8px;">
<tr><td style="padding:32px;">
<p style="margin:0 0 8px;font-size:14px;color:#71717a;">{{ shop_name }}</p>
<h1 style="margin:0 0 16px;font-size:22px;">{{ heading }}</h1>
"""
_BUTTON = """<p style="margin:0 0 24px;"><a href="{{ url }}" style="display:inline-block;background:#18181b;color:#ffffff;\
text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:600;">{{ label }}</a></p>
"""

ALERT_HTML = _HTML.from_string(_LAYOUT_HEAD + """\
<p style="margin:0 0 24px;font-size:16px;line-height:1.5;">Good news: {% if product_title %}\
<strong>{{ product_title }}</strong>{% if variant_title %} ({{ variant_title }}){% endif %}\
{% else %}an item you asked about{% endif %} is back in stock.</p>
""" + _BUTTON.replace("{{ url }}", "{{ click_url }}").replace("{{ label }}", "Shop now") + """\
<p style="margin:0;font-size:13px;color:#71717a;">Quantities may be limited.</p>
</td></tr></table>
<p style="max-width:520px;font-size:12px;line-height:1.5;color:#71717a;">You're receiving this because you asked \
{{ shop_name }} to tell you when this item was back in stock.<br>
<a href="{{ unsubscribe_url }}" style="color:#71717a;">Unsubscribe from this alert</a> &middot;
<a href="{{ unsubscribe_all_url }}" style="color:#71717a;">Unsubscribe from all alerts from {{ shop_name }}</a></p>
</td></tr></table></body></html>
""")

ALERT_TEXT = _TEXT.from_string("""\
Good news: {{ product or "an item you asked about" }} is back in stock at {{ shop_name }}.

Shop now: {{ click_url }}

Quantities may be limited.

--
You're receiving this because you asked {{ shop_name }} to tell you when this item was back in stock.
Unsubscribe from this alert: {{ unsubscribe_url }}
Unsubscribe from all alerts from {{ shop_name }}: {{ unsubscribe_all_url }}
""")

CONFIRM_HTML = _HTML.from_string(_LAYOUT_HEAD + """\
<p style="margin:0 0 24px;font-size:16px;line-height:1.5;">Please confirm that you want an alert when \
{% if product_title %}<strong>{{ product_title }}</strong>{% if variant_title %} ({{ variant_title }}){% endif %}\
{% else %}the item you asked about{% endif %} is back in stock.</p>
""" + _BUTTON.replace("{{ url }}", "{{ confirm_url }}").replace("{{ label }}", "Confirm my alert") + """\
<p style="margin:0;font-size:13px;color:#71717a;">If you didn't ask for this, ignore this email: \
you won't hear from us about it.</p>
</td></tr></table></td></tr></table></body></html>
""")

CONFIRM_TEXT = _TEXT.from_string("""\
Please confirm that you want {{ shop_name }} to tell you when {{ product or "the item you asked about" }} \
is back in stock:

{{ confirm_url }}

If you didn't ask for this, ignore this email: you won't hear from us about it.
""")


def _shown_variant(variant_title: str | None) -> str:
    variant = (variant_title or "").strip()
    return "" if variant == SHOPIFY_DEFAULT_VARIANT else variant


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def render_subject(template: str | None, variables: Mapping[str, str]) -> str:
    """The shop's subject template (the default one if it renders empty). One
    that validated but fails for this product raises RenderError: the alert is
    then `failed` with the reason, for the merchant to see and fix."""
    try:
        subject = render_line(template or DEFAULT_SUBJECT, variables)
    except RenderError as exc:
        raise RenderError(f"the email subject template failed to render: {exc}") from exc
    return subject or render_line(DEFAULT_SUBJECT, variables)


# Every alert of a restock shares its body but for its links: rendered once,
# then the per-recipient links replace these markers (plain ASCII, unchanged
# by HTML escaping).
_CLICK, _UNSUBSCRIBE, _UNSUBSCRIBE_ALL = "@@bis-click@@", "@@bis-unsubscribe@@", "@@bis-unsubscribe-all@@"


@lru_cache(maxsize=512)
def _email_body(shop_name: str, shop_domain: str, product_title: str | None, variant_title: str | None,
                product_url: str | None, subject_template: str | None) -> tuple[str, str, str]:
    product = product_name(product_title, variant_title)
    if product:
        subject = render_subject(subject_template, {
            "product_title": product_title or "", "variant_title": _shown_variant(variant_title),
            "shop_name": shop_name, "product_url": product_url or f"https://{shop_domain}",
        })
    else:  # the shop's template is written around a product name there isn't
        subject = f"{NEUTRAL_ITEM} is back in stock at {' '.join(shop_name.split())}"
    context = {"heading": "Back in stock", "shop_name": shop_name, "product": product,
               "product_title": product and product_title, "variant_title": _shown_variant(variant_title),
               "click_url": _CLICK, "unsubscribe_url": _UNSUBSCRIBE, "unsubscribe_all_url": _UNSUBSCRIBE_ALL}
    return subject, ALERT_TEXT.render(context), ALERT_HTML.render(context)


def render_alert(*, channel: str, to: str, shop_name: str, shop_domain: str, product_title: str | None,
                 variant_title: str | None, product_url: str | None, email_settings: EmailChannel | None,
                 click_url: str, unsubscribe_url: str, unsubscribe_all_url: str,
                 reference: str | None = None) -> Message:
    """The back-in-stock alert for one signup. `reference` (the notification id) is
    passed through to the provider as Message.reference."""
    product = product_name(product_title, variant_title)
    if channel == "email":
        settings = dict(email_settings or {})
        subject, text, html = _email_body(shop_name, shop_domain, product_title, variant_title, product_url,
                                          settings.get("subject"))
        links = {_CLICK: click_url, _UNSUBSCRIBE: unsubscribe_url, _UNSUBSCRIBE_ALL: unsubscribe_all_url}
        for marker, url in links.items():
            text = text.replace(marker, url)
            html = html.replace(marker, str(escape(url)))
        return Message(
            channel="email", to=to, subject=subject, text=text, html=html,
            from_name=settings.get("sender_name") or shop_name, reply_to=settings.get("reply_to") or None,
            headers={"List-Unsubscribe": f"<{unsubscribe_url}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            reference=reference,
        )
    if channel == "sms":
        text = (f"{_clip(shop_name, SMS_SHOP_CHARS)}: {_clip(product or NEUTRAL_ITEM, SMS_PRODUCT_CHARS)} is back "
                f"in stock! {click_url}\n{SMS_OPT_OUT} or visit {unsubscribe_url}")
        return Message(channel="sms", to=to, text=text, reference=reference)
    if channel == "push":
        return Message(channel="push", to=to,
                       title=f"{_clip(product or NEUTRAL_ITEM, SMS_PRODUCT_CHARS)} is back in stock",
                       text=f"Available again at {shop_name}. Tap to shop before it sells out.",
                       url=click_url, reference=reference)
    raise ValueError(f"unknown channel {channel!r}")


def render_confirmation(*, channel: str, to: str, shop_name: str, product_title: str | None,
                        variant_title: str | None, confirm_url: str,
                        email_settings: EmailChannel | None = None) -> Message:
    """The double opt-in confirmation: not an alert (no notification row, no plan count)."""
    product = product_name(product_title, variant_title)
    if channel == "email":
        settings = dict(email_settings or {})
        context = {"heading": "Confirm your alert", "shop_name": shop_name, "product": product,
                   "product_title": product and product_title, "variant_title": _shown_variant(variant_title),
                   "confirm_url": confirm_url}
        subject = f"Confirm your back-in-stock alert for {product}" if product else (
            f"Confirm your back-in-stock alert from {' '.join(shop_name.split())}")
        return Message(
            channel="email", to=to, subject=_clip(subject, 200),
            text=CONFIRM_TEXT.render(context), html=CONFIRM_HTML.render(context),
            from_name=settings.get("sender_name") or shop_name, reply_to=settings.get("reply_to") or None,
        )
    if channel == "sms":
        text = (f"{_clip(shop_name, SMS_SHOP_CHARS)}: confirm your back-in-stock alert for "
                f"{_clip(product or 'the item you asked about', SMS_PRODUCT_CHARS)}: {confirm_url}\n{SMS_OPT_OUT}")
        return Message(channel="sms", to=to, text=text)
    if channel == "push":
        return Message(channel="push", to=to, title="Confirm your back-in-stock alert",
                       text=(f"Tap to get an alert from {shop_name} when "
                             f"{_clip(product or 'the item you asked about', SMS_PRODUCT_CHARS)} is back."),
                       url=confirm_url)
    raise ValueError(f"unknown channel {channel!r}")


def render_merchant_email(*, to: str, subject: str, text: str) -> Message:
    """High-demand, usage-warning and report emails to the shop's recipients (plain text)."""
    return Message(channel="email", to=to, subject=" ".join(subject.split()), text=text)


def link_urls(public_url: str, shop_id: uuid.UUID, notification_id: uuid.UUID, signup_id: uuid.UUID,
              secret: str) -> dict[str, str]:
    """The tracked product link and the unsubscribe links of one alert, keyed as
    render_alert takes them (click_url, unsubscribe_url, unsubscribe_all_url)."""
    base = public_url.rstrip("/")
    unsubscribe = f"{base}/u/{tokens.sign('unsubscribe', shop_id, signup_id, secret)}"
    return {
        "click_url": f"{base}/t/{tokens.sign('click', shop_id, notification_id, secret)}",
        "unsubscribe_url": unsubscribe,
        "unsubscribe_all_url": f"{unsubscribe}?all=1",
    }


def confirm_url(public_url: str, shop_id: uuid.UUID, signup_id: uuid.UUID, secret: str) -> str:
    """The opt-in confirmation link (/optin/{token})."""
    return f"{public_url.rstrip('/')}/optin/{tokens.sign('optin', shop_id, signup_id, secret)}"
