"""Endpoints about the API itself: /help, OpenAPI, Swagger UI, health."""
