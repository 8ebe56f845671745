"""Shop settings: read and PATCH of the five capabilities."""
from api_service.settings.actions import ACTIONS

__all__ = ["ACTIONS"]
