"""Scheduled jobs: one registry, one runner that leases and records every run, one scheduler."""
