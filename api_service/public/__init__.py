"""Public pages outside the base path, reached from links in messages: click
tracking (/t), unsubscribe (/u) and opt-in confirmation (/optin). No API key:
the signed token in the path is the credential."""
