"""The signups and notifications time series, read from the daily rollups
(sql/021_report_rollups.sql): a period is a sum of day rows, so a report
reads at most days x channels x states rows whatever the shop's size."""
from __future__ import annotations

from typing import Any

from shared_models.listing import Where
from shared_models.reports.window import Window, rollup_where

# The period's first day: date_trunc on the rollup's day (already in the shop's timezone).
PERIOD = "to_char(date_trunc({g}, day::timestamp), 'YYYY-MM-DD')"

SIGNUPS = """
SELECT {period} AS period, channel,
       sum(signups)::bigint AS signups,
       COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0)::bigint AS pending,
       COALESCE(sum(signups) FILTER (WHERE state IN ('notified', 'converted')), 0)::bigint AS notified,
       COALESCE(sum(signups) FILTER (WHERE state = 'converted'), 0)::bigint AS converted,
       COALESCE(sum(signups) FILTER (WHERE state = 'unsubscribed'), 0)::bigint AS unsubscribed,
       COALESCE(sum(signups) FILTER (WHERE state = 'unconfirmed'), 0)::bigint AS awaiting_optin
FROM report_signups_daily
WHERE {where}
GROUP BY 1, 2
HAVING sum(signups) <> 0
ORDER BY 1, 2
"""

BLOCKED_REASONS = ("plan_limit", "channel_disabled", "optin_unconfirmed", "unsubscribed",
                   "country_not_allowed", "sold_out", "not_published")
_BLOCKED_COLUMNS = ",\n".join(
    f"       COALESCE(sum(attempts) FILTER (WHERE status = 'blocked' AND blocked_reason = '{r}'), 0)::bigint"
    f" AS blocked_{r}" for r in BLOCKED_REASONS)

NOTIFICATIONS = f"""
SELECT {{period}} AS period, channel,
       sum(attempts)::bigint AS attempts,
       COALESCE(sum(attempts) FILTER (WHERE status = 'sent'), 0)::bigint AS sent,
       COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0)::bigint AS failed,
       COALESCE(sum(attempts) FILTER (WHERE status = 'sending'), 0)::bigint AS sending,
       COALESCE(sum(attempts) FILTER (WHERE status = 'blocked'), 0)::bigint AS blocked,
{_BLOCKED_COLUMNS},
       sum(clicked)::bigint AS clicked,
       CASE WHEN COALESCE(sum(attempts) FILTER (WHERE status = 'sent'), 0) = 0 THEN 0::float8
            ELSE round(sum(clicked)::numeric / sum(attempts) FILTER (WHERE status = 'sent'), 4)::float8
       END AS click_rate
FROM report_notifications_daily
WHERE {{where}}
GROUP BY 1, 2
HAVING sum(attempts) <> 0
ORDER BY 1, 2
"""


def _build(template: str, shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    w: Where = rollup_where(shop_id, query, window)
    granularity = w.next_placeholder()
    sql = template.format(period=PERIOD.format(g=granularity + "::text"), where=w.sql)
    return sql, [*w.args, query["granularity"]]


def signups(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    return _build(SIGNUPS, shop_id, query, window)


def notifications(shop_id: Any, query: dict[str, Any], window: Window) -> tuple[str, list[Any]]:
    return _build(NOTIFICATIONS, shop_id, query, window)
