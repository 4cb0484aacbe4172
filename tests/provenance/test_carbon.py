"""Carbon allocation: shares by quantity over the lots a step fed, summed along the graph."""

from __future__ import annotations

import pytest

from provenance.carbon import CycleError, Flow, Step, allocate


def _s(name: str, kg: float | None, *flows: tuple[str, float, str]) -> Step:
    return Step(name, kg, tuple(Flow(lot, q, role) for lot, q, role in flows))


def test_one_step_feeding_two_lots_shares_by_quantity() -> None:
    steps = [_s("harvest", 100, ("A", 300, "output"), ("B", 100, "output"))]
    assert allocate(steps, "A").lot_kg == pytest.approx(75)
    assert allocate(steps, "B").lot_kg == pytest.approx(25)


def test_many_steps_feeding_one_lot_add_up() -> None:
    steps = [
        _s("made", 40, ("L", 10, "output")),
        _s("made-again", 10, ("L", 10, "output")),
        _s("shipped", 5, ("L", 20, "observed")),
    ]
    assert allocate(steps, "L").lot_kg == pytest.approx(55)


def test_inputs_pass_on_the_fraction_used() -> None:
    # milk (1000 kg, 500 kg CO2e); 400 kg of it dried into powder P (with 60 kg of its own).
    steps = [
        _s("milk", 500, ("M", 1000, "output")),
        _s("dry", 60, ("M", 400, "input"), ("P", 50, "output")),
        _s("pack", 10, ("P", 25, "input"), ("U", 100, "output")),
    ]
    a = allocate(steps, "U")
    assert a.fractions == {"milk": pytest.approx(0.2), "dry": pytest.approx(0.5), "pack": 1.0}
    assert a.lot_kg == pytest.approx(500 * 0.2 + 60 * 0.5 + 10)


def test_the_demo_journey_by_hand() -> None:
    steps = [
        _s("farm", 14400, ("RM", 12000, "output")),
        _s("premix", 180, ("PM", 100, "output")),
        _s("dry", 2100, ("RM", 12000, "input"), ("A", 900, "output"), ("B", 600, "output")),
        _s("blend", 350, ("A", 900, "input"), ("PM", 100, "input"), ("FB", 1000, "output")),
        _s("fill", 420, ("FB", 800, "input"), ("U", 1000, "output")),
        _s("ship", 260, ("U", 1000, "observed")),
    ]
    a = allocate(steps, "U")
    # farm and dry: 0.6 of the drying run went to lot A, all of A into FB, 0.8 of FB into U.
    assert a.fractions["farm"] == pytest.approx(0.48) and a.fractions["dry"] == pytest.approx(0.48)
    assert a.lot_kg == pytest.approx(14400 * 0.48 + 2100 * 0.48 + 180 * 0.8 + 350 * 0.8 + 420 + 260)
    assert allocate(steps, "B").lot_kg == pytest.approx((14400 + 2100) * 0.4)


def test_steps_without_data_count_as_zero() -> None:
    steps = [_s("a", None, ("L", 1, "output")), _s("b", 2, ("L", 1, "observed"))]
    assert allocate(steps, "L").lot_kg == 2


def test_a_cycle_is_refused() -> None:
    steps = [
        _s("x", 1, ("A", 1, "input"), ("B", 1, "output")),
        _s("y", 1, ("B", 1, "input"), ("A", 1, "output")),
        _s("z", 1, ("A", 1, "input"), ("T", 1, "output")),
    ]
    with pytest.raises(CycleError):
        allocate(steps, "T")
