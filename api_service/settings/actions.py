"""The settings actions, as the registry declares them: the whole document and
one literal route per capability (no {capability} parameter), so that each
PATCH has its own precise request schema in /help, OpenAPI and MCP."""
from __future__ import annotations

from api_service.registry import Action
from api_service.settings import handlers, schemas

PATCH_NOTES = (
    "Deep-partial: send only what changes. Objects merge deeply; arrays and scalars "
    "replace the current value; null sets a nullable field (null anywhere else is 422). "
    "Unknown keys are 422. All-or-nothing: every validation error of every block comes "
    "back in one 422, its `fields` keyed by dotted paths relative to the request body, "
    "and nothing is written. Plan gating (batch_size, SMS: paid plans only) applies only "
    "to values being changed: values kept after a downgrade stay, are ignored when "
    "sending, and do not block other changes; setting them to null or false is always "
    "allowed. Concurrent PATCHes of different fields all apply."
)

CAPABILITY_DESCRIPTIONS = {
    "channels": "Which channels send alerts (email, SMS, push), and the email's sender "
                "name, reply-to address and subject template",
    "delivery": "When and how alerts go out on a restock: automatic sending, the restock "
                "threshold, batching, order, sold-out and publication checks, locations and "
                "reminders",
    "compliance": "Consent and data rules: double opt-in, the countries SMS may go to and "
                  "how long contact details are kept",
    "tagging": "Shopify tags: the tag on orders attributed to an alert and the tags "
               "added to customers who sign up",
    "alerts": "Emails to the merchant: high-demand alerts, the plan usage warning and "
              "scheduled reports, and who receives them",
}



# Action names written out, so that grepping a name from /help finds its declaration.
ACTION_NAMES = {
    "channels": ("back_in_stock_settings_channels_read", "back_in_stock_settings_channels_update"),
    "delivery": ("back_in_stock_settings_delivery_read", "back_in_stock_settings_delivery_update"),
    "compliance": ("back_in_stock_settings_compliance_read", "back_in_stock_settings_compliance_update"),
    "tagging": ("back_in_stock_settings_tagging_read", "back_in_stock_settings_tagging_update"),
    "alerts": ("back_in_stock_settings_alerts_read", "back_in_stock_settings_alerts_update"),
}


def capability_actions(capability: str, about: str) -> list[Action]:
    read_name, update_name = ACTION_NAMES[capability]
    return [
        Action(
            name=read_name,
            method="GET",
            path=f"/back_in_stock/settings/{capability}",
            handler=handlers.read_capability(capability),
            description=f"Read the {capability} settings. {about}.",
            notes="Defaults included: only the shop's changes are stored.",
            resource="Settings",
        ),
        Action(
            name=update_name,
            method="PATCH",
            path=f"/back_in_stock/settings/{capability}",
            handler=handlers.update_capability(capability),
            description=f"Change the {capability} settings. {about}. "
                        f"Returns the whole {capability} document after the change.",
            notes=PATCH_NOTES,
            resource="Settings",
            body_schema=schemas.CAPABILITY_BODIES[capability],
            body_partial=True,
            body_errors_to_handler=True,
        ),
    ]


ACTIONS = [
    Action(
        name="back_in_stock_settings_read",
        method="GET",
        path="/back_in_stock/settings",
        handler=handlers.read_settings,
        description="Read all settings: the five capabilities (channels, delivery, compliance, "
                    "tagging, alerts) as they apply now, defaults included.",
        notes="Only the shop's changes are stored; everything else shows its default.",
        resource="Settings",
    ),
    Action(
        name="back_in_stock_settings_update",
        method="PATCH",
        path="/back_in_stock/settings",
        handler=handlers.update_settings,
        description="Change settings of one or more capabilities in one request, e.g. "
                    '{"delivery": {"batch_size": 100}, "channels": {"sms": {"enabled": true}}}. '
                    "Returns all settings after the change.",
        notes=PATCH_NOTES,
        resource="Settings",
        body_schema=schemas.SETTINGS_BODY,
        body_partial=True,
        body_errors_to_handler=True,
    ),
    *(action for capability, about in CAPABILITY_DESCRIPTIONS.items()
      for action in capability_actions(capability, about)),
]
