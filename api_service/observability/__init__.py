"""Observability shared by the API and the dispatcher: request ids, the log
context they travel in, structured logs and Prometheus metrics."""
