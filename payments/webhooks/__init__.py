"""Webhooks: the outbox Event sent to the merchant's endpoint, signed, at least once."""
