"""The jobs actions, as the registry declares them."""
from api_service.jobs import handlers, schemas
from api_service.pending import not_implemented
from api_service.registry import Action

ACTIONS = [
    Action(
        name="jobs_read",
        method="GET",
        path="/jobs/{id}",
        handler=handlers.read_job,
        description="Read an asynchronous job: its kind, status and live counts.",
        resource="Job",
        path_schema=schemas.JobPath,
    ),
    Action(
        name="jobs_cancel",
        method="POST",
        path="/jobs/{id}/cancel",
        handler=not_implemented,
        description="Cancel a job: sends not yet handed to a provider are not made.",
        notes="409 if the job already finished.",
        resource="Job",
        path_schema=schemas.JobPath,
        idempotent=True,
    ),
]
