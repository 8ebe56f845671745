"""v1 parity: the /api/v1/external/intents… calls and the storefront signup,
served by the v2 code with v1's names and shapes (translation only)."""
