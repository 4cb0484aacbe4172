"""Data ownership: export streams, webhooks, the audit log."""
