"""HTTP side of the signups actions: unpack the Call, run the core, shape the reply."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shared_models import listing
from api_service.auth import Principal
from api_service.context import Call, Reply
from api_service.signups import service
from api_service.signups.output import signup_out


async def list_signups(call: Call) -> dict[str, Any]:
    q = call.query
    rows, total, exact = await service.list_signups(call.pool, call.shop, q)
    return {"signups": [signup_out(r) for r in rows],
            "meta": listing.meta(q["page"], q["per_page"], total, exact)}


async def read_signup(call: Call) -> dict[str, Any]:
    return signup_out(await service.get_signup(call.pool, call.shop, call.path["signup_id"]))


async def create_signup(call: Call) -> Reply:
    row, created = await service.create_signup(call.conns, principal_of(call), call.body,
                                               pending=call.idempotency, refresh=call.reauthorize)
    return Reply(signup_out(row), 201 if created else 200)


def principal_of(call: Call) -> Principal:
    """The call's principal; a Call made outside run_action has only its shop (nothing to check)."""
    return call.principal if call.principal is not None else Principal(call.shop, None, False)


async def delete_signup(call: Call) -> Reply:
    await service.delete_signup(call.pool, call.shop, call.path["signup_id"])
    return Reply(None, 204)


async def bulk_delete(call: Call) -> dict[str, Any]:
    return asdict(await service.bulk_delete(call.pool, call.shop, call.body["ids"]))


async def transfer(call: Call) -> dict[str, Any]:
    return asdict(await service.transfer(call.pool, call.shop, call.body))
