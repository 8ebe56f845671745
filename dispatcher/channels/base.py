"""What every provider takes and returns, and the ways a send can go wrong."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    channel: str  # email | sms | push
    to: str  # email address, E.164 phone number or push token
    text: str  # plain-text body (email), the SMS, or the push body
    subject: str | None = None  # email
    html: str | None = None  # email
    title: str | None = None  # push
    url: str | None = None  # push: the tracked product link
    from_name: str | None = None  # email sender name
    reply_to: str | None = None  # email
    headers: dict[str, str] = field(default_factory=dict)  # email: List-Unsubscribe…
    reference: str | None = None  # our notification id, for provider-side idempotency


@dataclass(frozen=True)
class Delivered:
    provider: str  # smtp | twilio | push_gateway | console
    message_id: str | None


class ProviderError(Exception):
    """Base of every send failure. `message` is what lands in notifications.error."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientError(ProviderError):
    """Worth retrying with backoff (connection refused, 5xx, SMTP 4xx)."""


class PermanentError(ProviderError):
    """Will not succeed on retry (bad number, 4xx, SMTP 5xx)."""

    def __init__(self, message: str, *, unsubscribe: bool = False):
        super().__init__(message)
        # The provider says the recipient opted out (Twilio 21610) or hard-bounced.
        self.unsubscribe = unsubscribe


class UnknownOutcome(ProviderError):
    """The connection broke after the message may have gone out: never retried."""


class RateLimited(ProviderError):
    """The provider's 429: waited out, not recorded as an attempt."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


class Provider(Protocol):
    name: str

    async def send(self, message: Message) -> Delivered:
        """Hand the message over; raise a ProviderError subclass on failure."""
        ...

    async def close(self) -> None:
        ...
