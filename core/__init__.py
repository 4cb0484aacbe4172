"""Shared infrastructure: database, errors, crypto, rate limits. No business logic."""
