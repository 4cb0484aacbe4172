"""Carbon per unit: each step's emissions shared over the lots it fed, summed along the graph.

The journey of a lot is a directed acyclic graph of steps (events) and lots. A step *feeds* the
lots it outputs (a transformation's outputs, an ObjectEvent ADD) or handles (ships, stores,
inspects); it *consumes* a transformation's inputs. Then, for a target lot T:

- A step's emissions are shared over the lots it fed in proportion to their quantities.
- ``psi(L)``, the fraction of lot L that ends up in T: 1 for T itself; otherwise, over every step
  of T's journey that consumed L, the quantity consumed over L's produced quantity (the sum of its
  output quantities; failing that its largest handled quantity), times ``phi`` of that step.
- ``phi(S)``, the fraction of step S's emissions that ends up in T: the sum over the lots S fed
  of their share of S's output times ``psi`` of that lot.
- T's footprint is the sum over steps of ``co2e_kg * phi``; per unit, divided by the units in T.

One step may feed many lots (one harvest, many lots) and many steps may feed one lot; capture
refuses cycles, and ``allocate`` refuses them too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

METHOD = (
    "Each step's emissions (kg CO2e) are shared over the lots it fed (its outputs, or the lots "
    "it handled) in proportion to their quantities. A lot used as an input passes on the "
    "fraction of its footprint that the quantity used is of the lot's produced quantity. The "
    "shares are summed along the journey to this unit's lot and divided by the units in the lot."
)


class CycleError(ValueError):
    """The steps make a lot from itself."""


@dataclass(frozen=True)
class Flow:
    """A lot a step consumed (``input``), created (``output``) or handled (``observed``)."""

    lot: Hashable
    quantity: float
    role: str


@dataclass(frozen=True)
class Step:
    """A step of a journey with its emissions (None: no data) and its flows."""

    id: Hashable
    co2e_kg: float | None
    flows: tuple[Flow, ...]


@dataclass(frozen=True)
class Allocation:
    """How much of each step's emissions ends up in the target lot."""

    fractions: dict[Hashable, float]  # phi of each step
    lot_kg: float  # the target lot's whole footprint
    contributions: dict[Hashable, float]  # kg of each step in the target lot


class _Graph:
    def __init__(self, steps: Sequence[Step], target: Hashable) -> None:
        self.target = target
        self.fed: dict[Hashable, list[tuple[Hashable, float]]] = defaultdict(list)
        self.consumers: dict[Hashable, list[tuple[Hashable, float]]] = defaultdict(list)
        produced: dict[Hashable, float] = defaultdict(float)
        handled: dict[Hashable, float] = defaultdict(float)
        for step in steps:
            for f in step.flows:
                if f.role == "input":
                    self.consumers[f.lot].append((step.id, f.quantity))
                else:
                    self.fed[step.id].append((f.lot, f.quantity))
                    if f.role == "output":
                        produced[f.lot] += f.quantity
                    else:
                        handled[f.lot] = max(handled[f.lot], f.quantity)
        self.produced = {lot: produced.get(lot) or handled.get(lot) or 0.0
                         for lot in {*produced, *handled, *self.consumers}}  # fmt: skip
        self._psi: dict[Hashable, float] = {}
        self._phi: dict[Hashable, float] = {}
        self._open: set[Hashable] = set()

    def psi(self, lot: Hashable) -> float:
        if lot == self.target:
            return 1.0
        if lot not in self._psi:
            self._enter(("lot", lot))
            total = 0.0
            for step_id, quantity in self.consumers.get(lot, ()):
                made = self.produced.get(lot) or quantity
                total += quantity / made * self.phi(step_id)
            self._psi[lot] = total
            self._open.discard(("lot", lot))
        return self._psi[lot]

    def phi(self, step_id: Hashable) -> float:
        if step_id not in self._phi:
            self._enter(("step", step_id))
            fed = self.fed.get(step_id, [])
            whole = sum(q for _, q in fed)
            self._phi[step_id] = (
                sum(q / whole * self.psi(lot) for lot, q in fed) if whole > 0 else 0.0
            )
            self._open.discard(("step", step_id))
        return self._phi[step_id]

    def _enter(self, node: tuple[str, Hashable]) -> None:
        if node in self._open:
            raise CycleError("the journey makes a lot from itself")
        self._open.add(node)


def allocate(steps: Sequence[Step], target: Hashable) -> Allocation:
    """The share of each step's emissions carried by ``target`` (a lot), and its footprint."""
    graph = _Graph(steps, target)
    fractions = {step.id: graph.phi(step.id) for step in steps}
    contributions = {step.id: (step.co2e_kg or 0.0) * fractions[step.id] for step in steps}
    return Allocation(fractions, sum(contributions.values()), contributions)


def produced_quantity(steps: Sequence[Step], lot: Hashable) -> float:
    """A lot's produced quantity: its output quantities, or failing that its largest handled."""
    return _Graph(steps, lot).produced.get(lot, 0.0)
