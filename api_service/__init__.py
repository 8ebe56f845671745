"""The REST API: one aiohttp app whose routes come from the action registry."""
