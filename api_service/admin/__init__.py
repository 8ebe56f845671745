"""Operator actions behind the CLI: shops and keys (not part of the HTTP API)."""
