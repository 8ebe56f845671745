"""`make bench`: seeds a large shop and measures the service against floors
measured in the same run (what PostgreSQL itself does for the same work)."""
