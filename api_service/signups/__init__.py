"""Signups: one customer waiting on one variant over one channel."""
from api_service.signups.actions import ACTIONS

__all__ = ["ACTIONS"]
