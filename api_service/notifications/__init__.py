"""The read-only send log: one row per delivery attempt."""
from api_service.notifications.actions import ACTIONS

__all__ = ["ACTIONS"]
