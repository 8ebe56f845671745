"""The rows a send job's chunk reads (dispatcher.runner, dispatcher.delivery
and the modules beside it). The queries stay with the code that runs them;
each class names its own, and tests/test_typed_rows.py holds the two together."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shared_models.rows import Row, column
from shared_models.settings import Overrides


class JobRow(Row):
    """A send job as a run reads it once (dispatcher.targets.JOB)."""

    __slots__ = ()
    job_id: uuid.UUID = column()
    shop_id: uuid.UUID = column()
    kind: str = column()  # restock, notify, bulk_notify, reminder
    trigger: str = column()  # restock, manual, reminder: what the notification rows say
    status: str = column()  # queued, running, done, failed, cancelled
    allow_resend: bool = column()
    variant_id: int | None = column()
    # The job's own JSON, written by shared_models.jobs.create_job: a reminder's {"stage": n}.
    payload: dict[str, Any] | None = column()
    current_batch: int = column()
    batch_checked: int = column()
    total_batches: int = column()
    next_run_at: dt.datetime | None = column()
    deferred: bool | None = column()  # next_run_at is still ahead
    request_id: str | None = column()
    shop_uninstalled: bool = column()


class TargetRow(Row):
    """A target leased by a chain (dispatcher.targets.CLAIM)."""

    __slots__ = ()
    signup_id: uuid.UUID = column()
    batch: int = column()
    position: int = column()  # delivery order within the job


class SignupRow(Row):
    """A signup as a send reads it, with its variant's names and whether its
    contact is suppressed (dispatcher.attempts.LOAD_SIGNUPS). The rules of
    shared_models.signup_states read it by key; the send path by attribute."""

    __slots__ = ()
    signup_id: uuid.UUID = column()
    customer_id: uuid.UUID = column()
    channel: str = column()  # email, sms, push
    contact: str = column()
    variant_id: int = column()
    product_id: int = column()
    optin_required: bool = column()
    optin_confirmed_at: dt.datetime | None = column()
    last_notified_at: dt.datetime | None = column()
    unsubscribed_at: dt.datetime | None = column()
    reminder_stage: int = column()
    purchased_at: dt.datetime | None = column()
    product_title: str | None = column()  # variants' (NULL when the catalog has no row)
    variant_title: str | None = column()
    url: str | None = column()
    suppressed: bool = column()


class LatestAttemptRow(Row):
    """The latest attempt of a send key (dispatcher.attempts.LATEST_ATTEMPTS)."""

    __slots__ = ()
    notification_id: uuid.UUID = column()
    signup_id: uuid.UUID = column()
    status: str = column()
    plan_counted: bool = column()
    created_at: dt.datetime = column()


class OpenedRow(Row):
    """What one hand-over write did (dispatcher.attempts.OPEN_ATTEMPTS): the
    allowance after it and what it granted (None when the month has no
    plan_usage row yet), the rows opened `sending`, the signups blocked."""

    __slots__ = ()
    used: int | None = column()
    granted: int | None = column()
    opened: list[uuid.UUID] = column()
    blocked: list[uuid.UUID] = column()


class OptinClaimRow(Row):
    """A signup whose opt-in confirmation this worker sends (dispatcher.optin.CLAIM)."""

    __slots__ = ()
    channel: str = column()
    contact: str = column()
    variant_id: int = column()
    shop_name: str = column()
    plan: str = column()
    overrides: Overrides | None = column()
