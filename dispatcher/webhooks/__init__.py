"""Shopify webhook topics, processed by the dispatcher after the API stored them."""
