"""Outbound webhooks: events told to merchants' and banks' endpoints, signed, from an outbox."""
