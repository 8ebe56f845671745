"""Reports: how signups, alerts and conversions performed."""
