"""Provider calls and their retries. A call's attempt row is opened through
the hand-over (dispatcher.handover) once everything that may wait (the
concurrency slot, the rate-limit token, the cancellation check) is done, so
that the row exists exactly when the call is under way."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid

from dispatcher import targets as sql
from dispatcher.attempts import Attempt, Chunk, Queued
from dispatcher.channels.base import (
    Delivered,
    Message,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)
from dispatcher.handover import HandOver
from dispatcher.messages import link_urls, render_alert
from dispatcher.outcomes import record_outcomes
from dispatcher.runtime import Runtime
from shared_models.templates import RenderError

log = logging.getLogger("backinstock.dispatcher")


def message_for(rt: Runtime, chunk: Chunk, attempt: Attempt) -> Message:
    s, shop, config = attempt.signup, chunk.shop, rt.conns.config
    links = link_urls(config.public_url, shop.shop_id, attempt.notification_id, s.signup_id, config.secret_key)
    return render_alert(
        channel=s.channel, to=s.contact, shop_name=shop.name, shop_domain=shop.domain,
        product_title=s.product_title, variant_title=s.variant_title,
        product_url=s.url, email_settings=chunk.settings["channels"]["email"],
        click_url=links["click_url"], unsubscribe_url=links["unsubscribe_url"],
        unsubscribe_all_url=links["unsubscribe_all_url"], reference=str(attempt.notification_id),
    )


async def call_provider(rt: Runtime, chunk: Chunk, attempt: Attempt, *, token_held: bool = False) -> Attempt:
    """token_held: the first call's rate-limit token was taken before the
    row was opened (a wait for it must not happen with the row open)."""
    provider = rt.providers[attempt.signup.channel]
    attempt.provider = provider.name
    try:
        message = message_for(rt, chunk, attempt)
    except RenderError as exc:  # the shop's template: a certain failure, nothing handed to the provider
        attempt.status, attempt.error = "failed", str(exc)
        return attempt
    for i in range(rt.tuning.max_rate_limit_waits + 1):
        if i or not token_held:
            await rt.throttle.acquire(provider.name)
        try:
            with rt.metrics.time_send(provider.name):
                delivered: Delivered = await provider.send(message)
        except RateLimited as exc:  # waited out, not an attempt
            await asyncio.sleep(min(exc.retry_after, 30))
            continue
        except TransientError as exc:
            attempt.status, attempt.error, attempt.retryable = "failed", exc.message, True
        except PermanentError as exc:
            attempt.status, attempt.error, attempt.unsubscribe = "failed", exc.message, exc.unsubscribe
        except UnknownOutcome as exc:
            attempt.status, attempt.error = "failed", f"outcome unknown: {exc.message}"
        except ProviderError as exc:
            attempt.status, attempt.error = "failed", exc.message
        except Exception as exc:  # a bug or an unexpected library error: never retried blindly
            log.exception("provider %s raised unexpectedly", provider.name)
            attempt.status, attempt.error = "failed", f"outcome unknown: {type(exc).__name__}"
        else:
            attempt.status, attempt.message_id = "sent", delivered.message_id
            attempt.provider = delivered.provider
        return attempt
    attempt.status, attempt.error, attempt.retryable = "failed", "provider kept rate limiting", True
    return attempt


async def send_with_retries(rt: Runtime, chunk: Chunk, row: Queued, handover: HandOver,
                            cancelled: "CancelWatch") -> Attempt | None:
    """row: the send and its first attempt number. The final attempt (earlier
    failed ones are recorded as they happen), or None when nothing more is to
    be recorded: the job was cancelled before a call, another run of the chunk
    has the send, or the plan ran out (recorded as blocked/plan_limit)."""
    signup, batch, number = row
    provider = rt.providers[signup.channel]
    while True:
        await rt.throttle.acquire(provider.name)
        if await cancelled():
            chunk.cancelled.append(signup.signup_id)
            return None
        attempt = await handover.open((signup, batch, number))
        if attempt is None:
            return None
        await call_provider(rt, chunk, attempt, token_held=True)
        if not attempt.retryable or attempt.attempt >= rt.tuning.max_attempts:
            return attempt
        await record_outcomes(rt, chunk, [attempt])
        await asyncio.sleep(rt.tuning.retry_delay * 2 ** (attempt.attempt - 1))
        number = attempt.attempt + 1


class CancelWatch:
    """Is the job cancelled? Asked before every provider call, read at most
    twice a second."""

    def __init__(self, rt: Runtime, shop_id: uuid.UUID, job_id: uuid.UUID):
        self.rt, self.shop_id, self.job_id = rt, shop_id, job_id
        self.checked = 0.0
        self.cancelled = False
        self.lock = asyncio.Lock()

    async def __call__(self) -> bool:
        if not self.cancelled and time.monotonic() - self.checked > 0.5:
            async with self.lock:
                if time.monotonic() - self.checked > 0.5:
                    status = await self.rt.conns.pool.fetchval(sql.STATUS, self.shop_id, self.job_id)
                    self.cancelled = status == "cancelled"
                    self.checked = time.monotonic()
        return self.cancelled
