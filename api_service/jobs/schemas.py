from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from shared_models.jsonutil import isoformat


class JobPath(Schema):
    id = fields.UUID(required=True, metadata={"description": "Job id"})


def job_out(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["job_id"]),
        "kind": row["kind"],
        "status": row["status"],
        "counts": {"sent": row["sent"], "failed": row["failed"], "blocked": row["blocked"]},
        "created_at": isoformat(row["created_at"]),
        "finished_at": isoformat(row["finished_at"]),
    }
