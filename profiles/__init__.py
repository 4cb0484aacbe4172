"""Consumers, their WeChat identities, profiles and segments."""
