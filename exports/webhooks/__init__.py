"""Signed webhooks: owners register URLs for events; deliveries go out through an outbox.

An event is a ``webhook_deliveries`` row per subscribed webhook, written in the transaction of
the change that causes it (``events.emit``); the delivery job is sent after that commit, and a
sweep re-drives rows whose job was lost. See docs/webhooks.md.
"""
