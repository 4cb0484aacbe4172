"""Fraud cases (risk rules, scores, holds, blocks and appeals are to come: see README)."""
