"""Asynchronous work the API accepted (notify, bulk_notify, restocks, reminders)."""
