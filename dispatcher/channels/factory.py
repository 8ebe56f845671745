"""The provider for each channel, from the deployment configuration."""
from __future__ import annotations

import logging

from dispatcher.channels.base import Delivered, Message, PermanentError, Provider
from dispatcher.channels.console import ConsoleProvider
from dispatcher.channels.push import PushGatewayProvider
from dispatcher.channels.smtp import SmtpProvider, SmtpUrlError
from dispatcher.channels.twilio import TwilioProvider
from shared_models.config import Config, ConfigError, MissingConfig

log = logging.getLogger("backinstock.providers")



class Unconfigured:
    """An optional channel (SMS, push) with no provider outside dev: each send
    fails for good, so nothing is counted as sent and nothing is logged."""

    name = "unconfigured"

    def __init__(self, channel: str):
        self.channel = channel

    async def send(self, message: Message) -> Delivered:
        raise PermanentError(f"no {self.channel} provider is configured on this deployment")

    async def close(self) -> None:
        return None


def _fallback(config: Config, channel: str) -> Provider:
    if config.allow_console_providers:
        return ConsoleProvider(channel)
    if channel == "email":
        # Email is on for every shop by default: a dispatcher without SMTP
        # would fail every alert, so it refuses to start (exit 2).
        raise MissingConfig("SMTP_URL", "email has no provider; console providers only under "
                                        "`backinstock dev` or ALLOW_CONSOLE_PROVIDERS=1")
    return Unconfigured(channel)


def _sms(config: Config) -> Provider:
    if not config.twilio_account_sid:  # Config refuses half a Twilio configuration
        return _fallback(config, "sms")
    return TwilioProvider(config.twilio_account_sid, config.twilio_auth_token, config.twilio_from,
                          config.twilio_api_base)


def _email(config: Config) -> Provider:
    if not config.smtp_url:
        return _fallback(config, "email")
    try:
        return SmtpProvider(config.smtp_url, config.mail_from)
    except SmtpUrlError as exc:
        name = "MAIL_FROM" if "MAIL_FROM" in str(exc) else "SMTP_URL"
        raise ConfigError(f"{name} ({exc})") from None


def build_providers(config: Config) -> dict[str, Provider]:
    """{"email": …, "sms": …, "push": …}; the console stands in for unset
    channels only when allowed (see _fallback)."""
    providers: dict[str, Provider] = {
        "email": _email(config),
        "sms": _sms(config),
        "push": PushGatewayProvider(config.push_gateway_url) if config.push_gateway_url else _fallback(config, "push"),
    }
    for channel, provider in providers.items():
        if provider.name == "console":
            log.warning("no provider configured for %s: messages are only logged (dev only)", channel)
        elif provider.name == "unconfigured":
            log.warning("no provider configured for %s: its sends fail", channel)
    return providers


def check_providers(config: Config) -> None:
    """Before the event loop starts: a refusal is one line on stderr, exit 2."""
    if not config.smtp_url:
        _fallback(config, "email")


async def close_providers(providers: dict[str, Provider]) -> None:
    for provider in providers.values():
        await provider.close()
