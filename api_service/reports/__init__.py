"""Reports: how signups, alerts and conversions performed."""
from api_service.reports.actions import ACTIONS

__all__ = ["ACTIONS"]
