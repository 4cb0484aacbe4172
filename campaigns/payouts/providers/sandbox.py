"""The sandbox provider: pays at once and moves no money (embedded mode, the demo, benches)."""

from __future__ import annotations

from campaigns.payouts.providers.base import Order, Outcome, Result


class SandboxProvider:
    """Every payment succeeds; a query finds it paid (the sandbox keeps no other record)."""

    name = "sandbox"

    def send(self, order: Order) -> Result:
        """Pay at once."""
        return Result(Outcome.paid, "SUCCESS", f"sandbox-{order.out_trade_no}",
                      paid_fen=order.amount_fen)  # fmt: skip

    def query(self, order: Order) -> Result:
        """Nothing left unknown: the sandbox has no record, so the payment is re-sent."""
        return Result(Outcome.not_found, "NOT_FOUND")

    def cancel(self, order: Order) -> Result:
        """Nothing waits for the shopper in the sandbox."""
        return Result(Outcome.cancelled, "CANCELLED")
