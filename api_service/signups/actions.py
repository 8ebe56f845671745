"""The signups actions, as the registry declares them (in the contract's order).

aiohttp tries routes in registration order but skips a route whose method
doesn't match, so POST /signups/bulk_delete is never taken by GET/DELETE
/signups/{id} (and a GET of /signups/bulk_delete is a 404 "Signup not found")."""
from api_service.registry import Action, V1Alias
from api_service.signups import notify, handlers, schemas
from api_service.v1 import commands as v1_commands, intents as v1_intents, schemas as v1_schemas

STATUS_NOTE = ("status: unsubscribed if unsubscribed, else notified if an alert was sent, else blocked "
               "if its last attempt was blocked (still waiting), else pending.")

ACTIONS = [
    Action(
        name="back_in_stock_signups_list",
        method="GET",
        path="/back_in_stock/signups",
        handler=handlers.list_signups,
        description="List signups (customers waiting on a variant over a channel), newest first.",
        notes="Filters combine with AND. email and phone match part of the customer's email or "
              "phone, case-insensitively (separators such as spaces, dashes and parentheses in a "
              "phone filter are ignored; % and _ are literal). from and to are inclusive, on "
              "created_at; a bare date is a whole day in the shop's timezone. per_page 1..200, "
              "out of range 422. " + STATUS_NOTE,
        resource="Signup",
        query_schema=schemas.SignupListQuery,
        v1=V1Alias(
            "GET", "/intents", "v1_intents_list", v1_intents.list_intents,
            "List intents, newest first: {intents, meta}; per_page up to 500.",
            query_schema=v1_schemas.V1ListQuery),
    ),
    Action(
        name="back_in_stock_signups_read",
        method="GET",
        path="/back_in_stock/signups/{id}",
        handler=handlers.read_signup,
        description="Read one signup with its variant, customer, opt-in state and send counts.",
        notes="404 for an unknown id or another shop's. " + STATUS_NOTE,
        resource="Signup",
        path_schema=schemas.SignupPath,
        v1=V1Alias(
            "GET", "/intents/{id}", "v1_intents_read", v1_intents.read_intent, "Read one intent: {intent}.",
            path_schema=v1_schemas.V1IntentPath),
    ),
    Action(
        name="back_in_stock_signups_create",
        method="POST",
        path="/back_in_stock/signups",
        handler=handlers.create_signup,
        description="Create a signup (and its customer if new). 201 when created; 200 with the "
                    "existing signup when the customer already waits on that variant over that channel.",
        notes="channel email needs customer.email, sms a valid customer.phone (stored in E.164; "
              "separators accepted, the + country prefix required), push customer.push_token. "
              "The customer is matched by email (case-insensitive), else phone, else push token. "
              "A new customer gets every detail given; an existing one only gets details it lacks "
              "(name, locale, country, consent, other contacts) - nothing is overwritten here; the "
              "storefront signup never changes an existing customer at all. product_id may be "
              "omitted when the catalog already knows the variant (422 otherwise); when Shopify "
              "has described the variant, its product id and details win over the request's. "
              "inventory_item_id and product fill the catalog until Shopify describes the variant. "
              "product.url must be http(s) on the shop's myshopify or storefront domain (exact host). "
              "With compliance.optin_required the signup starts unconfirmed and is not alerted "
              "until confirmed. Idempotency-Key is honoured. The storefront signup (POST "
              "/api/v1/intents.json) runs the same code.",
        resource="Signup",
        body_schema=schemas.SignupCreate,
        status=201,
        other_statuses=((200, "The customer already waits on that variant over that channel: that signup"),),
        v1=V1Alias(
            "POST", "/intents", "v1_intents_create", v1_intents.create_intent,
            "Create an intent: 201 {intent}; 200 with the existing one when the customer already waits.",
            body_schema=v1_schemas.V1SignupCreate, status=201,
            other_statuses=((200, "The customer's existing waiting intent"),)),
        coalesced=True,
    ),
    Action(
        name="back_in_stock_signups_delete",
        method="DELETE",
        path="/back_in_stock/signups/{id}",
        handler=handlers.delete_signup,
        description="Delete one signup. Its notifications are kept and still count in reports.",
        notes="204 on success, 404 for an unknown id or another shop's. Unlike bulk_delete, this "
              "also deletes a signup that was already notified.",
        resource="Signup",
        path_schema=schemas.SignupPath,
        status=204,
        destructive=True,
    ),
    Action(
        name="back_in_stock_signups_notify",
        method="POST",
        path="/back_in_stock/signups/{id}/notify",
        handler=notify.notify_signup,
        description="Send the back-in-stock alert of one signup now; 202 with the job_id.",
        notes="Already notified and allow_resend false: 422. A send for this signup already queued "
              "or in flight: 409. Obeys channels, compliance and the plan; ignores auto_send.",
        resource="Signup",
        path_schema=schemas.SignupPath,
        body_schema=schemas.NotifyBody,
        status=202,
        other_statuses=((409, "A send for this signup is already queued or in flight"),),
        v1=V1Alias(
            "POST", "/intents/notify_intent", "v1_intents_notify", v1_commands.notify_intent,
            "Queue the alert of one intent: {success: true, intent_id}. 422 already notified, 409 in flight.",
            body_schema=v1_schemas.V1NotifyBody,
            other_statuses=((409, "A send for this intent is already queued or in flight"),)),
    ),
    Action(
        name="back_in_stock_signups_bulk_notify",
        method="POST",
        path="/back_in_stock/signups/bulk_notify",
        handler=notify.bulk_notify,
        description="Send alerts to many signups, given by ids (1 to 10,000) or by the list filters; "
                    "202 with job_id, accepted_count, and for ids accepted and rejected.",
        notes="Give exactly one of ids or filter. Unknown, already notified (without allow_resend) "
              "or in-flight ids are rejected, not fatal. batched true applies the delivery batching.",
        resource="Signup",
        body_schema=schemas.BulkNotifyBody,
        status=202,
        v1=V1Alias(
            "POST", "/intents/bulk_notify_intent", "v1_intents_bulk_notify", v1_commands.bulk_notify_intent,
            "Queue the alerts of many intents: {success: [ids], failed: [{intent_id, error}]}; 207 if any "
            "failed.",
            body_schema=v1_schemas.V1BulkNotifyBody,
            other_statuses=((207, "Some intents were refused: see failed"),)),
    ),
    Action(
        name="back_in_stock_signups_bulk_delete",
        method="POST",
        path="/back_in_stock/signups/bulk_delete",
        handler=handlers.bulk_delete,
        description="Delete many never-notified signups at once (1 to 10,000 ids); "
                    "200 {deleted_count, not_found}.",
        notes="All or nothing: if any listed signup was notified, nothing is deleted and the 422 "
              "names them (errors, fields ids.<index>, notified_ids). Ids unknown to the shop are "
              "returned in not_found; if none is known, 404. Notifications are kept.",
        resource="Signup",
        body_schema=schemas.BulkDeleteBody,
        destructive=True,
        v1=V1Alias(
            "DELETE", "/intents/bulk_destroy", "v1_intents_bulk_destroy", v1_commands.bulk_destroy,
            "Delete never-notified intents, all or nothing: {success: true, deleted_count}; 422 names the "
            "notified ones, 404 when none is known.",
            body_schema=v1_schemas.V1BulkDestroyBody),
    ),
    Action(
        name="back_in_stock_signups_transfer",
        method="POST",
        path="/back_in_stock/signups/transfer",
        handler=handlers.transfer,
        description="Move the signups of one variant to another in one transaction, keeping their "
                    "status; 200 {transferred_count, merged_count}.",
        notes="scope: unsent (default; never alerted and not unsubscribed, including those awaiting "
              "opt-in confirmation), sent (alerted) or all. Only signups on from_variant_id with "
              "from_product_id move. A waiting signup whose customer already waits on the target "
              "variant over that channel is merged into that signup: it keeps the earlier created_at "
              "(queue position), gains the merged one's notifications; the merged one is deleted "
              "and counted in merged_count, not transferred_count. Alerted signups never merge "
              "(a customer may hold several past signups for a variant). Notifications keep the "
              "variant they were sent for. from_variant_id equal to to_variant_id: 422.",
        resource="Signup",
        body_schema=schemas.TransferBody,
        v1=V1Alias(
            "POST", "/intents/transfer_signups", "v1_intents_transfer", v1_commands.transfer_signups,
            "Move the intents of one variant to another: {transferred_count, merged_count}.",
            body_schema=v1_schemas.V1TransferBody),
    ),
]
