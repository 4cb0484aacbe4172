"""Fraud: risk rules, scores, cases, holds, blocks and appeals; the fraud-check job."""
