"""Asynchronous work the API accepted (notify, bulk_notify, restocks, reminders)."""
from api_service.jobs.actions import ACTIONS

__all__ = ["ACTIONS"]
