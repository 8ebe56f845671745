"""Handler for actions registered ahead of the issue that builds them."""
from api_service.context import Call
from api_service.errors import NotImplementedYet


async def not_implemented(call: Call) -> None:
    raise NotImplementedYet("not implemented yet")
