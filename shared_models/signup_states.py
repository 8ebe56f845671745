"""What state a signup is in: the one owner of the rule, for the API, the
reports and the dispatcher.

A signup's state follows from five facts, each a column of `signups`:

- alerted: `last_notified_at` is set (an alert went out; a resend keeps it set);
- unsubscribed: `unsubscribed_at` is set;
- awaiting opt-in: `optin_required` and no `optin_confirmed_at` yet;
- blocked: `last_blocked_at` is set (an attempt was blocked; it stays waiting);
- converted: `converted_at` is set (an order was attributed to its alert).

Two sets:

- **open**: not alerted and not unsubscribed. At most one per customer,
  variant and channel (the index signups_open; a create meeting one answers
  200 with it); what a restock targets and a transfer's `unsent` scope moves
  (an open signup awaiting opt-in gets a blocked `optin_unconfirmed` attempt),
  the variants reconciliation watches.
- **waiting** (the contract's word): open and not awaiting opt-in. The
  high-demand count, and the reports' `pending`.

Two classifications, each a precedence (the first state whose test holds):

- **status**, the API's `status` field and list filter: unsubscribed >
  notified > blocked > pending (API.md: "unsubscribed if unsubscribed, else
  notified if an alert was sent, else blocked ..., else pending").
- **report state**, what the reports' rollups count: converted > notified >
  unsubscribed > unconfirmed > pending. An alerted signup that unsubscribed
  afterwards was still alerted, so it stays counted as notified.

PostgreSQL holds copies it cannot import from here: the generated column
`signups.status` (sql/001_core.sql), `report_signup_state()`
(sql/functions/report_signup_state.sql) and the predicate of signups_open
(sql/001_core.sql, and signup_create's ON CONFLICT, which must name it).
tests/test_signup_states.py holds each to the precedences below, on every
combination of the facts, and every path that shows a state (API field,
list filters, v1, reports) to the same answer."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Row = Mapping[str, Any]


# --- the facts, for rows already in memory ------------------------------------

def alerted(row: Row) -> bool:
    return row["last_notified_at"] is not None


def unsubscribed(row: Row) -> bool:
    return row["unsubscribed_at"] is not None


def awaiting_optin(row: Row) -> bool:
    return bool(row["optin_required"]) and row["optin_confirmed_at"] is None


def optin_confirmed(row: Row) -> bool:
    """What the API shows as optin.confirmed (v1: optin_confirmed): true when no
    opt-in was asked for, or once confirmed."""
    return not awaiting_optin(row)


def blocked(row: Row) -> bool:
    return row["last_blocked_at"] is not None


def converted(row: Row) -> bool:
    return row["converted_at"] is not None


def is_open(row: Row) -> bool:
    return not alerted(row) and not unsubscribed(row)


def is_waiting(row: Row) -> bool:
    return is_open(row) and not awaiting_optin(row)


# --- the precedences ------------------------------------------------------------

def _always(row: Row) -> bool:
    return True


Precedence = tuple[tuple[str, Callable[[Row], bool]], ...]

STATUS_PRECEDENCE: Precedence = (
    ("unsubscribed", unsubscribed),
    ("notified", alerted),
    ("blocked", blocked),
    ("pending", _always),
)
REPORT_STATE_PRECEDENCE: Precedence = (
    ("converted", converted),
    ("notified", alerted),
    ("unsubscribed", unsubscribed),
    ("unconfirmed", awaiting_optin),
    ("pending", _always),
)
# The list filter's values, in the contract's order (its 422 and OpenAPI enum say them so).
STATUSES = ("pending", "notified", "blocked", "unsubscribed")
REPORT_STATES = tuple(name for name, _ in REPORT_STATE_PRECEDENCE)


def _first(precedence: Precedence, row: Row) -> str:
    return next(name for name, holds in precedence if holds(row))


# PostgreSQL computes both for stored rows (see above); these are the same
# precedences for rows in memory, and what the test holds PostgreSQL to.
def status(row: Row) -> str:
    return _first(STATUS_PRECEDENCE, row)


def report_state(row: Row) -> str:
    return _first(REPORT_STATE_PRECEDENCE, row)


# --- the sets in SQL, over signups aliased `alias` ("" when not aliased) ----------

def _columns(alias: str) -> str:
    return f"{alias}." if alias else ""


def alerted_sql(alias: str = "s") -> str:
    return f"{_columns(alias)}last_notified_at IS NOT NULL"


def not_alerted_sql(alias: str = "s") -> str:
    return f"{_columns(alias)}last_notified_at IS NULL"


def open_sql(alias: str = "s") -> str:
    """Written as signups_open's predicate is, so that the planner matches that index."""
    c = _columns(alias)
    return f"{c}last_notified_at IS NULL AND {c}unsubscribed_at IS NULL"


def waiting_sql(alias: str = "s") -> str:
    c = _columns(alias)
    return f"{open_sql(alias)} AND (NOT {c}optin_required OR {c}optin_confirmed_at IS NOT NULL)"


ALERTED = alerted_sql()
NOT_ALERTED = not_alerted_sql()
OPEN = open_sql()
WAITING = waiting_sql()
