"""The MCP sidecar: one tool per API action, read from the API's `GET /help`.

It holds no state of its own and no database access: every tool call is an
HTTP call to the API with the caller's key, so the API stays the one place
where auth, validation and limits happen.
"""
