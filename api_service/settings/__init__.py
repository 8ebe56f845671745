"""Shop settings: read and PATCH of the five capabilities."""
