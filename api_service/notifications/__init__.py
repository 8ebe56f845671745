"""The read-only send log: one row per delivery attempt."""
