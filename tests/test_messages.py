"""Message rendering (dispatcher.messages) and signed tokens (shared_models.tokens)."""
from __future__ import annotations

import uuid

import pytest

from dispatcher.messages import (
    SMS_OPT_OUT,
    confirm_url,
    link_urls,
    product_name,
    render_alert,
    render_confirmation,
    render_merchant_email,
)
from shared_models import tokens
from shared_models.templates import RenderError

SECRET = "test-secret"
SHOP_ID = uuid.UUID("11111111-1111-4111-8111-111111111111")
NOTIFICATION_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")
SIGNUP_ID = uuid.UUID("33333333-3333-4333-8333-333333333333")
PUBLIC_URL = "https://alerts.example.com/"


def links() -> dict[str, str]:
    return link_urls(PUBLIC_URL, SHOP_ID, NOTIFICATION_ID, SIGNUP_ID, SECRET)


def alert(channel: str = "email", **overrides):
    fields = dict(channel=channel, to="ann@example.com", shop_name="Acme", shop_domain="acme.myshopify.com",
                  product_title="Linen shirt", variant_title="M / Blue",
                  product_url="https://acme.myshopify.com/products/linen-shirt",
                  email_settings={"sender_name": None, "reply_to": None,
                                  "subject": "{{ product_title }} is back in stock"},
                  **links())
    fields.update(overrides)
    return render_alert(**fields)


# --- tokens -------------------------------------------------------------------------------

def test_token_round_trip_is_compact_and_url_safe():
    token = tokens.sign("click", SHOP_ID, NOTIFICATION_ID, SECRET)
    assert len(token) == 64 and all(c.isalnum() or c in "-_" for c in token)
    assert tokens.verify("click", token, SECRET) == (SHOP_ID, NOTIFICATION_ID)


def test_token_is_bound_to_its_kind_and_secret():
    token = tokens.sign("unsubscribe", SHOP_ID, SIGNUP_ID, SECRET)
    assert tokens.verify("unsubscribe", token, SECRET) == (SHOP_ID, SIGNUP_ID)
    assert tokens.verify("optin", token, SECRET) is None
    assert tokens.verify("click", token, SECRET) is None
    assert tokens.verify("unsubscribe", token, "another-secret") is None
    assert tokens.verify("unsubscribe", token, "") is None


def test_tampered_tokens_fail():
    token = tokens.sign("click", SHOP_ID, NOTIFICATION_ID, SECRET)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    other_shop = tokens.sign("click", uuid.uuid4(), NOTIFICATION_ID, SECRET)
    spliced = other_shop[:22] + token[22:]  # another shop's id with this token's MAC
    for bad in (flipped, spliced, token[:-1], token + "A", token[:-2] + "==", "", "not a token",
                token.replace(token[5], "+")):
        assert tokens.verify("click", bad, SECRET) is None, bad


def test_sign_refuses_an_empty_secret():
    with pytest.raises(ValueError):
        tokens.sign("click", SHOP_ID, NOTIFICATION_ID, "")


def test_link_urls_carry_verifiable_tokens():
    urls = links()
    assert urls["click_url"].startswith("https://alerts.example.com/t/")
    assert urls["unsubscribe_url"].startswith("https://alerts.example.com/u/")
    assert urls["unsubscribe_all_url"] == urls["unsubscribe_url"] + "?all=1"
    click_token = urls["click_url"].rsplit("/", 1)[1]
    unsubscribe_token = urls["unsubscribe_url"].rsplit("/", 1)[1]
    assert tokens.verify("click", click_token, SECRET) == (SHOP_ID, NOTIFICATION_ID)
    assert tokens.verify("unsubscribe", unsubscribe_token, SECRET) == (SHOP_ID, SIGNUP_ID)
    assert tokens.verify("unsubscribe", click_token, SECRET) is None
    optin = confirm_url(PUBLIC_URL, SHOP_ID, SIGNUP_ID, SECRET)
    assert optin.startswith("https://alerts.example.com/optin/")
    assert tokens.verify("optin", optin.rsplit("/", 1)[1], SECRET) == (SHOP_ID, SIGNUP_ID)


# --- alerts -------------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "expected"), [
    ("{{ product_title }} is back in stock", "Linen shirt is back in stock"),
    ("{{ variant_title }} available", "M / Blue available"),
    ("News from {{ shop_name }}", "News from Acme"),
    ("See {{ product_url }}", "See https://acme.myshopify.com/products/linen-shirt"),
    ("{{ product_title|upper }} ({{ variant_title }}) at {{ shop_name }}", "LINEN SHIRT (M / Blue) at Acme"),
])
def test_subject_template_variables(template, expected):
    message = alert(email_settings={"subject": template})
    assert message.subject == expected


def test_default_subject_when_unset_and_an_error_when_broken():
    assert alert(email_settings={}).subject == "Linen shirt is back in stock"
    # A stored template that fails for this product: the alert fails with the
    # reason (delivery records it), rather than going out with another subject.
    for broken in ("{{ nope }}", "{{ product_title|truncate(5, true, '..........') }}", "{{ variant_title[40] }}"):
        with pytest.raises(RenderError, match="subject template failed to render"):
            alert(email_settings={"subject": broken})


@pytest.mark.parametrize("title", [None, "", "  "])
def test_no_trusted_title_gives_the_neutral_wording_on_every_channel(title):
    email = alert(product_title=title, variant_title="ACTION REQUIRED",
                  email_settings={"subject": "{{ product_title }} {{ variant_title }} is back"})
    assert email.subject == "An item you asked about is back in stock at Acme"
    assert "Good news: an item you asked about is back in stock at Acme." in email.text
    assert "an item you asked about</p>" not in email.html and "an item you asked about is back" in email.html
    for message in (email, alert("sms", to="+15550100", product_title=title),
                    alert("push", to="tok", product_title=title)):
        shown = " ".join(filter(None, (message.subject, message.title, message.text, message.html)))
        assert "ACTION REQUIRED" not in shown and "None" not in shown
    assert "Acme: An item you asked about is back in stock!" in alert("sms", to="+15550100", product_title=title).text
    assert alert("push", to="tok", product_title=title).title == "An item you asked about is back in stock"
    confirm = render_confirmation(channel="email", to="ann@example.com", shop_name="Acme", product_title=title,
                                  variant_title="x", confirm_url="https://c")
    assert confirm.subject == "Confirm your back-in-stock alert from Acme"
    assert "when the item you asked about is back in stock" in confirm.text


def test_email_names_the_product_links_and_unsubscribes():
    urls = links()
    message = alert(email_settings={"sender_name": "Acme Store", "reply_to": "help@acme.test",
                                    "subject": "{{ product_title }} is back"})
    assert message.channel == "email" and message.to == "ann@example.com"
    assert message.from_name == "Acme Store" and message.reply_to == "help@acme.test"
    for body in (message.text, message.html):
        assert "Linen shirt" in body and "M / Blue" in body
        assert urls["click_url"] in body
        assert urls["unsubscribe_url"] in body
        assert urls["unsubscribe_all_url"] in body
    assert message.headers == {"List-Unsubscribe": f"<{urls['unsubscribe_url']}>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def test_sender_name_defaults_to_the_shop_name():
    assert alert().from_name == "Acme"
    assert alert().reply_to is None


def test_html_escapes_the_product_title():
    message = alert(product_title="<script>alert(1)</script>", variant_title='"><img src=x onerror=y>',
                    shop_name="Tom & Jerry's")
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<img" not in message.html
    assert "Tom &amp; Jerry" in message.html
    assert "<script>alert(1)</script>" in message.text  # text/plain needs no escaping
    # The subject is plain text: kept as is, on one line.
    assert message.subject == "<script>alert(1)</script> is back in stock"


def test_subject_cannot_inject_headers():
    message = alert(product_title="Shirt\r\nBcc: victim@example.com")
    assert "\n" not in message.subject and "\r" not in message.subject


def test_sms_is_short_and_ends_with_the_opt_out_line():
    urls = links()
    message = alert("sms", to="+15005550006")
    assert message.channel == "sms" and message.to == "+15005550006"
    assert "Linen shirt - M / Blue" in message.text and urls["click_url"] in message.text
    last_line = message.text.splitlines()[-1]
    assert last_line.startswith(SMS_OPT_OUT) and last_line.endswith(urls["unsubscribe_url"])
    assert message.subject is None and message.html is None
    long = alert("sms", product_title="X" * 300)
    assert len(long.text) < len(message.text) + 80  # the title is clipped


def test_push_has_title_body_and_the_tracked_url():
    message = alert("push", to="device-token")
    assert message.channel == "push" and message.to == "device-token"
    assert "Linen shirt - M / Blue" in message.title
    assert message.url == links()["click_url"]
    assert "Acme" in message.text


def test_single_variant_products_are_named_by_title():
    assert product_name("Mug", "Default Title") == "Mug"
    assert product_name("Mug", None) == "Mug"
    assert product_name("Mug", "Blue") == "Mug - Blue"
    assert "Default Title" not in alert(variant_title="Default Title").html


def test_reference_is_passed_through():
    assert alert(reference="n-1").reference == "n-1"


def test_unknown_channel_is_refused():
    with pytest.raises(ValueError):
        alert("fax")


# --- confirmations and merchant emails -----------------------------------------------------

def test_confirmation_messages():
    link = confirm_url(PUBLIC_URL, SHOP_ID, SIGNUP_ID, SECRET)
    common = {"shop_name": "Acme", "product_title": "Linen <b>shirt</b>", "variant_title": "M", "confirm_url": link}
    mail = render_confirmation(channel="email", to="ann@example.com", **common)
    assert link in mail.text and link in mail.html and "Linen &lt;b&gt;shirt&lt;/b&gt;" in mail.html
    assert "Linen <b>shirt</b> - M" in mail.subject
    assert "List-Unsubscribe" not in mail.headers
    sms = render_confirmation(channel="sms", to="+15005550006", **common)
    assert link in sms.text and sms.text.splitlines()[-1] == SMS_OPT_OUT
    push = render_confirmation(channel="push", to="device", **common)
    assert push.url == link and push.title


def test_merchant_email_is_plain_text():
    message = render_merchant_email(to="ops@acme.test", subject="High demand:\n Linen shirt",
                                    text="25 customers are waiting.")
    assert message.subject == "High demand: Linen shirt"
    assert message.html is None and message.text == "25 customers are waiting."
