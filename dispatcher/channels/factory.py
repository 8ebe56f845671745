"""The provider for each channel, from the deployment configuration."""
from __future__ import annotations

import logging

from dispatcher.channels.base import Provider
from dispatcher.channels.console import ConsoleProvider
from dispatcher.channels.push import PushGatewayProvider
from dispatcher.channels.smtp import SmtpProvider, SmtpUrlError
from dispatcher.channels.twilio import TwilioProvider
from shared_models.config import Config, MissingConfig

log = logging.getLogger("backinstock.providers")

CHANNELS = ("email", "sms", "push")
_TWILIO_VARS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")


def _sms(config: Config) -> Provider:
    values = (config.twilio_account_sid, config.twilio_auth_token, config.twilio_from)
    if not any(values):
        return ConsoleProvider("sms")
    if not all(values):
        # Half a Twilio configuration is a mistake; falling back to the console
        # would silently mark real alerts as sent.
        raise MissingConfig(next(name for name, value in zip(_TWILIO_VARS, values) if not value))
    sid, token, sender = values
    return TwilioProvider(sid, token, sender, config.twilio_api_base)


def _email(config: Config) -> Provider:
    if not config.smtp_url:
        return ConsoleProvider("email")
    try:
        return SmtpProvider(config.smtp_url, config.mail_from)
    except SmtpUrlError as exc:
        name = "MAIL_FROM" if "MAIL_FROM" in str(exc) else "SMTP_URL"
        raise MissingConfig(f"{name} ({exc})") from None


def build_providers(config: Config) -> dict[str, Provider]:
    """{"email": …, "sms": …, "push": …}; the console stands in for unset channels."""
    providers: dict[str, Provider] = {
        "email": _email(config),
        "sms": _sms(config),
        "push": PushGatewayProvider(config.push_gateway_url) if config.push_gateway_url else ConsoleProvider("push"),
    }
    for channel, provider in providers.items():
        if provider.name == "console":
            log.warning("no provider configured for %s: messages are only logged (dev only)", channel)
    return providers


async def close_providers(providers: dict[str, Provider]) -> None:
    for provider in providers.values():
        await provider.close()
