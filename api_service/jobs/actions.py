"""The jobs actions, as the registry declares them."""
from api_service.jobs import handlers, schemas
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
        handler=handlers.cancel_job,
        description="Cancel a job: sends not yet handed to a provider are not made.",
        notes="Sends already handed to a provider complete; the rest are not made. "
              "Answers the job as cancelled; 409 if it already finished.",
        resource="Job",
        path_schema=schemas.JobPath,
        idempotent=True,
        other_statuses=((409, "The job already finished"),),
    ),
]
