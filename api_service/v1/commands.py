"""v1 notify_intent, bulk_notify_intent, bulk_destroy and transfer_signups:
each calls its v2 handler with v2's input and reshapes the answer."""
from __future__ import annotations

import dataclasses
from typing import Any

from api_service.context import Call, Reply
from shared_models.errors import Unprocessable
from api_service.registry import Action
from api_service.signups.bulk import SignupsNotified, listed_were
from api_service.v1.errors import V1Error, v1_errors, v1_wording
from api_service.v1.successor import set_successor

TRANSFER_RENAMES = {"from_variant_id": "from_shopify_variant_id", "from_product_id": "from_shopify_product_id",
                    "to_variant_id": "to_shopify_variant_id", "to_product_id": "to_shopify_product_id",
                    "scope": "intent_type"}


def _body(result: Any) -> Any:
    return result.body if isinstance(result, Reply) else result


async def notify_intent(call: Call, v2: Action) -> Reply:
    """200 {"success": true, "intent_id"} once the send is queued (v2: 202 {job_id})."""
    signup_id = call.body["signup_id"]
    set_successor(call, v2, id=str(signup_id))
    with v1_errors():
        await v2.handler(dataclasses.replace(call, path={"signup_id": signup_id},
                                             body={"allow_resend": call.body["allow_resend"]}))
    return Reply({"success": True, "intent_id": str(signup_id)})


async def bulk_notify_intent(call: Call, v2: Action) -> Reply:
    """200 when every intent was accepted, else 207 with the refused ones."""
    body = {"ids": call.body["ids"], "allow_resend": call.body["allow_resend"], "batched": False}
    with v1_errors({"ids": "intent_ids"}):
        out = _body(await v2.handler(dataclasses.replace(call, body=body)))
    failed = [{"intent_id": r["id"], "error": v1_wording(r["error"])} for r in out["rejected"]]
    return Reply({"success": out["accepted"], "failed": failed}, 207 if failed else 200)


class IntentsNotified(V1Error, Unprocessable):
    """bulk_destroy refused: v2's 422 under v1's names."""

    def __init__(self, refused: SignupsNotified):
        ids = refused.notified_ids
        super().__init__(
            f"Nothing was deleted: {listed_were(len(ids), 'intent')} already notified: {', '.join(ids)}",
            fields={"intent_ids." + path.split(".", 1)[1]: ["Already notified; notified intents can't be deleted."]
                    for path in (refused.fields or {})})
        self.notified_ids = ids

    def body(self) -> dict[str, Any]:
        return {**super().body(), "notified_intent_ids": self.notified_ids}


async def bulk_destroy(call: Call, v2: Action) -> Reply:
    """All or nothing, as v2: 422 naming the notified intents, 404 when none is known."""
    with v1_errors({"ids": "intent_ids"}):
        try:
            out = _body(await v2.handler(call))
        except SignupsNotified as exc:  # its body has more than the envelope
            raise IntentsNotified(exc) from None
    return Reply({"success": True, "deleted_count": out["deleted_count"]})


async def transfer_signups(call: Call, v2: Action) -> Reply:
    with v1_errors(TRANSFER_RENAMES):
        out = _body(await v2.handler(call))
    return Reply({"transferred_count": out["transferred_count"], "merged_count": out["merged_count"]})
