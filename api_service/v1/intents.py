"""v1 list, read and create: v1's validated input → the v2 core → v1's shape.

Each adapter takes the Call that run_action built from the v1 schemas (whose
output is already v2's input) and the v2 action it stands in for."""
from __future__ import annotations


from shared_models import listing
from api_service.context import Call, Reply
from api_service.registry import Action
from api_service.signups import service
from api_service.signups.handlers import principal_of
from api_service.v1 import listing as v1_listing
from api_service.v1.errors import v1_errors
from api_service.v1.output import intent_out, v1_meta
from api_service.v1.schemas import CREATE_RENAMES


async def list_intents(call: Call, v2: Action) -> Reply:
    q = call.query
    with v1_errors():
        rows, total = await v1_listing.page(call.pool, call.shop, q)
    meta = v1_meta(listing.meta(q["page"], q["per_page"], total, True))
    return Reply({"intents": [intent_out(r) for r in rows], "meta": meta})


async def read_intent(call: Call, v2: Action) -> Reply:
    with v1_errors():
        row = await service.get_signup(call.pool, call.shop, call.path["signup_id"])
    return Reply({"intent": intent_out(row)})


async def create_intent(call: Call, v2: Action) -> Reply:
    """The v2 core itself (the create, opt-in and high-demand hooks), its row
    in v1's shape (which shows the fields v2's leaves out: phone, inventory item…)."""
    with v1_errors(CREATE_RENAMES):
        row, created = await service.create_signup(call.conns, principal_of(call), call.body,
                                                   pending=call.idempotency, refresh=call.reauthorize)
    return Reply({"intent": intent_out(row)}, 201 if created else 200)
