"""Read and PATCH of the whole settings and of each capability."""
from __future__ import annotations

from typing import Any

from api_service.context import Call
from shared_models.errors import Unprocessable
from api_service.registry import Handler
from api_service.settings import queries
from shared_models.settings import deep_merge, effective, plan_errors


async def read_settings(call: Call) -> dict[str, Any]:
    return effective(await queries.read_overrides(call.pool, call.shop.shop_id))


async def update_settings(call: Call) -> dict[str, Any]:
    return await apply_patch(call, capability=None)


def read_capability(capability: str) -> Handler:
    async def read(call: Call) -> dict[str, Any]:
        return (await read_settings(call))[capability]
    return read


def update_capability(capability: str) -> Handler:
    async def update(call: Call) -> dict[str, Any]:
        return (await apply_patch(call, capability=capability))[capability]
    return update


def _relative(path: str, capability: str | None) -> str:
    """A path from the settings root as the request body spells it."""
    if capability is None:
        return path
    return path.removeprefix(capability + ".")


async def apply_patch(call: Call, capability: str | None) -> dict[str, Any]:
    """Validate and store a deep-partial change, all or nothing; the effective
    settings after it. `capability`: the body is that capability's document."""
    change = call.body if capability is None else {capability: call.body}
    errors = {path: list(msgs) for path, msgs in call.body_errors.items()}
    shop_id = call.shop.shop_id
    async with call.pool.acquire() as conn, conn.transaction():
        overrides = await queries.lock_overrides(conn, shop_id)
        # Plan gating compares with the current values, so it runs under the lock.
        for path, msgs in plan_errors(effective(overrides), change, call.shop.plan).items():
            errors.setdefault(_relative(path, capability), []).extend(msgs)
        if errors:
            raise Unprocessable.from_fields(errors)  # rolls back: nothing written
        overrides = deep_merge(overrides, change)
        await queries.write_overrides(conn, shop_id, overrides)
    return effective(overrides)
