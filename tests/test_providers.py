"""Delivery providers against real local stand-ins (tests/stand_ins.py), the
provider factory, and the Redis-shared throughput throttle."""
from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from dispatcher.channels.base import (
    Delivered,
    Message,
    PermanentError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)
from dispatcher.channels.console import ConsoleProvider
from dispatcher.channels.factory import build_providers, close_providers
from dispatcher.channels.push import PushGatewayProvider
from dispatcher.channels.smtp import SmtpProvider, is_hard_bounce
from dispatcher.channels.twilio import TwilioProvider
from dispatcher.throttle import Throttle
from shared_models.config import Config, ConfigError, MissingConfig
from tests.stand_ins import (
    DROP,
    TRUNCATE,
    PushGatewayStandIn,
    Reply,
    SmtpStandIn,
    TwilioStandIn,
)

MAIL_FROM = "alerts@backinstock.test"


def free_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def email_message(to: str = "ann@example.com", **overrides) -> Message:
    fields = {
        "channel": "email", "to": to, "subject": "Linen shirt is back in stock",
        "text": "Good news: Linen shirt - M / Blue is back.\nhttps://x.test/t/abc\n",
        "html": "<p>Good news: <strong>Linen shirt</strong></p>",
        "from_name": "Acme Store", "reply_to": "help@acme.test",
        "headers": {"List-Unsubscribe": "<https://x.test/u/tok>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "reference": "2b0e5c1e-6d0a-4b8e-9a57-1f1e7f8f0a01",
    }
    fields.update(overrides)
    return Message(**fields)


SMS = Message(channel="sms", to="+15005550006", text="Acme: Linen shirt is back! https://x.test/t/abc")
PUSH = Message(channel="push", to="device-token-1", text="Available again", title="Linen shirt is back",
               url="https://x.test/t/abc", reference="ref-1")


# --- SMTP ---------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def smtp_server():
    async with SmtpStandIn() as server:
        yield server


@pytest_asyncio.fixture
async def smtp(smtp_server):
    provider = SmtpProvider(smtp_server.url, f"Back in Stock <{MAIL_FROM}>", timeout=5)
    yield provider
    await provider.close()


async def test_smtp_sends_multipart_with_unsubscribe_headers(smtp, smtp_server):
    result = await smtp.send(email_message())
    assert result == Delivered("smtp", "<2b0e5c1e-6d0a-4b8e-9a57-1f1e7f8f0a01@backinstock.test>")
    assert smtp_server.logins == [("user", "secret p@ss")]  # credentials from the URL, unquoted
    [mail] = smtp_server.received
    assert mail.mail_from == MAIL_FROM and mail.rcpt_tos == ["ann@example.com"]
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert "https://x.test/t/abc" in msg.get_body(("plain",)).get_content()
    assert "<strong>Linen shirt</strong>" in msg.get_body(("html",)).get_content()
    assert msg["From"].addresses[0].display_name == "Acme Store"
    assert msg["From"].addresses[0].addr_spec == MAIL_FROM
    assert msg["Reply-To"] == "help@acme.test"
    assert msg["Subject"] == "Linen shirt is back in stock"
    assert msg["List-Unsubscribe"] == "<https://x.test/u/tok>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == result.message_id
    assert msg["Auto-Submitted"] == "auto-generated"


async def test_smtp_text_only_and_no_header_injection(smtp, smtp_server):
    await smtp.send(Message(channel="email", to="ops@acme.test", text="Report attached.",
                            subject="Weekly report\r\nBcc: victim@evil.test", from_name="Evil\nBcc: x@y"))
    msg = smtp_server.received[0].message
    assert msg.get_content_type() == "text/plain"
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Weekly report Bcc: victim@evil.test"
    assert msg["From"].addresses[0].display_name == "Evil Bcc: x@y"
    assert msg["From"].addresses[0].addr_spec == MAIL_FROM


async def test_smtp_reuses_one_connection_and_reconnects_when_closed(smtp, smtp_server):
    await smtp.send(email_message())
    await smtp.send(email_message(to="bob@example.com"))
    assert smtp_server.connections == 1
    smtp_server.close_connections()  # the server's idle timeout
    await asyncio.sleep(0.05)
    await smtp.send(email_message(to="cy@example.com"))
    assert smtp_server.connections == 2
    assert [m.rcpt_tos[0] for m in smtp_server.received] == ["ann@example.com", "bob@example.com", "cy@example.com"]


async def test_smtp_connection_refused_is_transient():
    provider = SmtpProvider(f"smtp://127.0.0.1:{free_port()}", MAIL_FROM, timeout=5)
    with pytest.raises(TransientError):
        await provider.send(email_message())
    await provider.close()


async def test_smtp_bad_login_is_transient(smtp_server):
    smtp_server.password = "changed"
    provider = SmtpProvider(smtp_server.url.replace("changed", "wrong"), MAIL_FROM, timeout=5)
    with pytest.raises(TransientError, match="login"):
        await provider.send(email_message())
    await provider.close()


@pytest.mark.parametrize("where", ["mail_reply", "rcpt_reply", "data_reply"])
async def test_smtp_4xx_is_transient(smtp, smtp_server, where):
    setattr(smtp_server, where, "451 4.3.0 Try again later")
    with pytest.raises(TransientError, match="451"):
        await smtp.send(email_message())


async def test_smtp_550_on_rcpt_is_a_hard_bounce(smtp, smtp_server):
    smtp_server.rcpt_reply = "550 5.1.1 Mailbox unavailable"
    with pytest.raises(PermanentError) as caught:
        await smtp.send(email_message())
    assert caught.value.unsubscribe is True
    assert "550" in caught.value.message
    # The failed transaction was reset: the same connection carries the next message.
    smtp_server.rcpt_reply = None
    await smtp.send(email_message(to="bob@example.com"))
    assert smtp_server.connections == 1 and len(smtp_server.received) == 1


async def test_smtp_policy_refusal_on_rcpt_does_not_unsubscribe(smtp, smtp_server):
    smtp_server.rcpt_reply = "550 5.7.1 Relaying denied"
    with pytest.raises(PermanentError) as caught:
        await smtp.send(email_message())
    assert caught.value.unsubscribe is False


async def test_smtp_5xx_on_data_is_permanent_without_unsubscribe(smtp, smtp_server):
    smtp_server.data_reply = "554 5.6.0 Message rejected"
    with pytest.raises(PermanentError) as caught:
        await smtp.send(email_message())
    assert caught.value.unsubscribe is False


async def test_smtp_connection_dropped_after_data_is_unknown_outcome(smtp, smtp_server):
    smtp_server.drop_after_data = True
    with pytest.raises(UnknownOutcome):
        await smtp.send(email_message())
    # The provider recovers with a new connection.
    smtp_server.drop_after_data = False
    assert (await smtp.send(email_message())).provider == "smtp"
    assert smtp_server.connections == 2


async def test_smtp_non_ascii_address_needs_smtputf8(smtp, smtp_server):
    # The stand-in does not offer SMTPUTF8: refused before anything is sent.
    with pytest.raises(PermanentError, match="SMTPUTF8"):
        await smtp.send(email_message(to="jürgen@exämple.de"))
    assert await smtp.send(email_message()) and len(smtp_server.received) == 1


def test_hard_bounce_classification():
    assert is_hard_bounce(550, "Mailbox unavailable")
    assert is_hard_bounce(550, "5.1.1 No such user")
    assert is_hard_bounce(551, "5.1.6 User has moved")
    assert is_hard_bounce(550, "5.2.1 Mailbox disabled")
    assert not is_hard_bounce(550, "5.7.1 Blocked by policy")
    assert not is_hard_bounce(552, "5.2.2 Mailbox full")
    assert not is_hard_bounce(554, "Transaction failed")


def test_smtp_url_must_be_smtp_or_smtps():
    with pytest.raises(ValueError):
        SmtpProvider("http://mail.test", MAIL_FROM)
    with pytest.raises(ValueError):
        SmtpProvider("smtp://mail.test", "not-an-address")
    assert "pass" not in repr(SmtpProvider("smtps://u:pass@mail.test", MAIL_FROM))


# --- Twilio -------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def twilio_server():
    async with TwilioStandIn() as server:
        yield server


@pytest_asyncio.fixture
async def twilio(twilio_server):
    provider = TwilioProvider(twilio_server.account_sid, twilio_server.auth_token, "+15005550001",
                              twilio_server.base_url)
    yield provider
    await provider.close()


async def test_twilio_posts_the_form_with_basic_auth(twilio, twilio_server):
    result = await twilio.send(SMS)
    assert result.provider == "twilio" and result.message_id.startswith("SM")
    assert twilio_server.posts == [{"To": "+15005550006", "From": "+15005550001", "Body": SMS.text}]


async def test_twilio_messaging_service_sender(twilio_server):
    provider = TwilioProvider(twilio_server.account_sid, twilio_server.auth_token, "MG" + "1" * 32,
                              twilio_server.base_url)
    await provider.send(SMS)
    await provider.close()
    assert twilio_server.posts[0]["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in twilio_server.posts[0]


async def test_twilio_429_is_rate_limited_with_retry_after(twilio, twilio_server):
    twilio_server.replies = [Reply(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "7"}),
                             Reply(429, {"code": 20429, "message": "Too Many Requests"})]
    with pytest.raises(RateLimited) as first:
        await twilio.send(SMS)
    assert first.value.retry_after == 7
    with pytest.raises(RateLimited) as second:
        await twilio.send(SMS)
    assert second.value.retry_after == 1


async def test_twilio_21610_unsubscribes(twilio, twilio_server):
    twilio_server.replies = [Reply(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})]
    with pytest.raises(PermanentError) as caught:
        await twilio.send(SMS)
    assert caught.value.unsubscribe is True
    assert "21610" in caught.value.message


async def test_twilio_other_4xx_is_permanent_with_twilios_message(twilio, twilio_server):
    twilio_server.replies = [Reply(400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})]
    with pytest.raises(PermanentError) as caught:
        await twilio.send(SMS)
    assert caught.value.unsubscribe is False
    assert "not a valid phone number" in caught.value.message


async def test_twilio_5xx_and_refused_are_transient(twilio, twilio_server):
    twilio_server.replies = [Reply(500, {"message": "Internal error"})]
    with pytest.raises(TransientError):
        await twilio.send(SMS)
    refused = TwilioProvider("AC1", "tok", "+15005550001", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError):
        await refused.send(SMS)
    await refused.close()


async def test_twilio_broken_response_is_unknown_outcome(twilio, twilio_server):
    twilio_server.replies = [Reply(mode=DROP)]
    with pytest.raises(UnknownOutcome):
        await twilio.send(SMS)
    assert len(twilio_server.posts) == 1  # the request did arrive


async def test_twilio_truncated_body_keeps_the_known_status(twilio, twilio_server):
    # The status line arrived: a 201 is delivered (sid unreadable), a 500 is transient.
    twilio_server.replies = [Reply(201, {"sid": "SM" + "f" * 32}, mode=TRUNCATE),
                             Reply(500, {"message": "oops"}, mode=TRUNCATE)]
    assert await twilio.send(SMS) == Delivered("twilio", None)
    with pytest.raises(TransientError):
        await twilio.send(SMS)


async def test_twilio_bad_credentials_never_leak_the_token(twilio_server, caplog):
    provider = TwilioProvider(twilio_server.account_sid, "wrong-token-xyz", "+15005550001", twilio_server.base_url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TransientError) as caught:
        await provider.send(SMS)
    await provider.close()
    assert twilio_server.auth_failures == 1
    assert "wrong-token-xyz" not in caught.value.message
    assert "wrong-token-xyz" not in repr(provider)
    assert "wrong-token-xyz" not in caplog.text


# --- Push gateway -------------------------------------------------------------------------

@pytest_asyncio.fixture
async def push_server():
    async with PushGatewayStandIn() as server:
        yield server


@pytest_asyncio.fixture
async def push(push_server):
    provider = PushGatewayProvider(push_server.url)
    yield provider
    await provider.close()


async def test_push_posts_json(push, push_server):
    assert await push.send(PUSH) == Delivered("push_gateway", "push-1")
    assert push_server.posts == [{"token": "device-token-1", "title": "Linen shirt is back",
                                  "body": "Available again", "url": "https://x.test/t/abc"}]
    push_server.replies = [Reply(202)]
    assert await push.send(PUSH) == Delivered("push_gateway", None)


async def test_push_error_mapping(push, push_server):
    push_server.replies = [
        Reply(429, {"error": "slow down"}, {"Retry-After": "3"}),
        Reply(410, {"error": "token expired"}),
        Reply(404, {"error": "unknown token"}),
        Reply(404, b"<html>Not Found</html>", {"Content-Type": "text/html"}),
        Reply(400, {"error": "bad payload"}),
        Reply(503, {"error": "down"}),
        Reply(mode=DROP),
    ]
    with pytest.raises(RateLimited) as limited:
        await push.send(PUSH)
    assert limited.value.retry_after == 3
    for expected_unsubscribe in (True, True, False, False):
        with pytest.raises(PermanentError) as caught:
            await push.send(PUSH)
        assert caught.value.unsubscribe is expected_unsubscribe
    with pytest.raises(TransientError):
        await push.send(PUSH)
    with pytest.raises(UnknownOutcome):
        await push.send(PUSH)


async def test_push_refused_is_transient():
    provider = PushGatewayProvider(f"http://127.0.0.1:{free_port()}/push")
    with pytest.raises(TransientError):
        await provider.send(PUSH)
    await provider.close()


# --- Console and factory ------------------------------------------------------------------

async def test_console_logs_and_delivers(caplog):
    caplog.set_level(logging.INFO, logger="backinstock.providers.console")
    result = await ConsoleProvider("email").send(email_message())
    assert result.provider == "console" and result.message_id
    assert "ann@example.com" in caplog.text and "Linen shirt is back in stock" in caplog.text


def _config(**env: str) -> Config:
    return Config.from_env({"SECRET_KEY": "s", **env}, required=())


async def test_factory_picks_providers_from_config():
    providers = build_providers(_config(ALLOW_CONSOLE_PROVIDERS="1"))
    assert {c: p.name for c, p in providers.items()} == {"email": "console", "sms": "console", "push": "console"}
    providers = build_providers(_config(
        SMTP_URL="smtp://u:p@127.0.0.1:2525", TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t",
        TWILIO_FROM="+15005550001", PUSH_GATEWAY_URL="http://127.0.0.1:1/push"))
    assert {c: p.name for c, p in providers.items()} == {"email": "smtp", "sms": "twilio", "push": "push_gateway"}
    await close_providers(providers)


async def test_console_only_when_allowed():
    # Issue 13 §8: outside dev, no email provider is a refusal to start; an
    # SMS or push channel without one fails its sends rather than logging them.
    with pytest.raises(MissingConfig, match="SMTP_URL"):
        build_providers(_config())
    providers = build_providers(_config(SMTP_URL="smtp://u:p@127.0.0.1:2525"))
    assert {c: p.name for c, p in providers.items()} == {"email": "smtp", "sms": "unconfigured",
                                                         "push": "unconfigured"}
    with pytest.raises(PermanentError, match="no sms provider"):
        await providers["sms"].send(Message(channel="sms", to="+15005550006", text="hi"))
    await close_providers(providers)
    dev = build_providers(_config(BACKINSTOCK_DEV="1"))
    assert {p.name for p in dev.values()} == {"console"}


def test_factory_refuses_half_configured_twilio_and_bad_smtp_url():
    with pytest.raises(MissingConfig, match="TWILIO_AUTH_TOKEN"):
        build_providers(_config(ALLOW_CONSOLE_PROVIDERS="1", TWILIO_ACCOUNT_SID="AC1", TWILIO_FROM="+15005550001"))
    with pytest.raises(ConfigError, match="SMTP_URL must be a URL starting smtp://"):
        build_providers(_config(SMTP_URL="mail.example.com"))


# --- Throttle -----------------------------------------------------------------------------

async def test_throttle_caps_throughput_across_workers(redis):
    # Two workers (two Throttle instances) share one bucket through Redis.
    workers = [Throttle(redis, {"smtp": 10}), Throttle(redis, {"smtp": 10})]
    started = time.monotonic()
    await asyncio.gather(*(workers[i % 2].acquire("smtp") for i in range(20)))
    elapsed = time.monotonic() - started
    assert 0.8 <= elapsed < 2.5


async def test_throttle_unlimited_provider_does_not_wait(redis):
    throttle = Throttle(redis, {"smtp": 10})
    started = time.monotonic()
    for _ in range(50):
        await throttle.acquire("push_gateway")
    assert time.monotonic() - started < 0.5


async def test_throttle_falls_back_to_a_local_bucket_without_redis():
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/7", socket_connect_timeout=0.5)
    throttle = Throttle(dead, {"twilio": 10})
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(throttle.acquire("twilio") for _ in range(20))), timeout=10)
    assert 0.8 <= time.monotonic() - started < 5
    await dead.aclose()
