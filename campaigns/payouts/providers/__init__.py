"""Payout providers: sandbox, WeChat Pay v3 transfer bills, v2 red packets."""
