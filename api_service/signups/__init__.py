"""Signups: one customer waiting on one variant over one channel."""
