"""What the API service, the dispatcher and the MCP sidecar share."""
