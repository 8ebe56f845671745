"""The notifications actions, as the registry declares them."""
from api_service.notifications import handlers, schemas
from api_service.registry import Action

ACTIONS = [
    Action(
        name="back_in_stock_notifications_list",
        method="GET",
        path="/back_in_stock/notifications",
        handler=handlers.list_notifications,
        description="List delivery attempts (sent, failed, blocked, sending), newest first.",
        notes="Filters combine with AND. Blocked attempts never reached a provider; "
              "blocked_reason says why.",
        resource="Notification",
        query_schema=schemas.NotificationListQuery,
    ),
    Action(
        name="back_in_stock_notifications_read",
        method="GET",
        path="/back_in_stock/notifications/{id}",
        handler=handlers.read_notification,
        description="Read one delivery attempt.",
        resource="Notification",
        path_schema=schemas.NotificationPath,
    ),
]
