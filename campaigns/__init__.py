"""Campaigns, prize draws, awards, payouts and the points ledger."""
