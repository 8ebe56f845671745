"""POST /webhooks/shopify: verified, deduplicated, stored; the dispatcher does the work."""
