"""Segment rules: validated from JSON, compiled to one SQL condition over ``consumer_profiles``.

A rule is ``{"all": [...]}`` or ``{"any": [...]}`` whose items are conditions
``{"field", "op", "value"}`` or nested rules. Limits: ``MAX_DEPTH`` levels of nesting,
``MAX_CONDITIONS`` conditions, ``MAX_VALUES`` values in an ``in`` list. Validation walks the rule
iteratively with an explicit stack, so neither a rule nested 100 deep nor one with 10,000
conditions costs more than counting to the limit.

Compilation produces a SQLAlchemy expression over the one ``consumer_profiles`` row of each
consumer that PostgreSQL (and SQLite, embedded) evaluates: one-to-many facts (provinces, cities,
products, categories, interests) are tests on the row's lists (``&&``/``@>`` on GIN-indexed
arrays; ``json_each`` on SQLite), the rest column comparisons. No join, and nothing is looped
over in Python per consumer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from profiles.derived.lifecycle import STAGES, Bounds, stage_sql
from profiles.errors import InvalidRule, RuleTooLarge
from profiles.models.profile import ConsumerProfile
from profiles.segments.arrays import has_any, product_key

MAX_DEPTH = 5
MAX_CONDITIONS = 50
MAX_VALUES = 100
MAX_TEXT = 64

#: field -> the operators it accepts.
OPERATORS: dict[str, frozenset[str]] = {
    "province": frozenset({"eq", "in"}),
    "city": frozenset({"eq", "in"}),
    "product_id": frozenset({"eq", "in", "scanned"}),
    "category": frozenset({"eq", "in", "scanned"}),
    "interest": frozenset({"eq", "in"}),
    "lifecycle": frozenset({"eq", "in"}),
    "scans_90d": frozenset({"eq", "gte", "lte", "between"}),
    "rating_avg": frozenset({"eq", "gte", "lte", "between"}),
    "reward_ratio": frozenset({"eq", "gte", "lte", "between"}),
    "first_scan_at": frozenset({"gte", "lte", "between"}),
}


@dataclass(frozen=True)
class Condition:
    """One validated condition: ``values`` holds one value, an ``in`` list, or a range's two."""

    field: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Group:
    """``all`` (AND) or ``any`` (OR) of conditions and groups."""

    mode: str
    items: tuple[Condition | Group, ...]


def _shape(node: Any, path: str) -> tuple[str, list[Any]]:
    if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in ("all", "any"):
        raise InvalidRule('A rule is {"all": [...]} or {"any": [...]}.', path=path)
    mode, items = next(iter(node.items()))
    if not isinstance(items, list) or not items:
        raise InvalidRule(f"'{mode}' takes a non-empty list.", path=path)
    return mode, items


def parse(rule: Any) -> Group:
    """Validate a rule (raising 422 ``invalid_rule`` or ``rule_too_large``) and return its tree."""
    mode, items = _shape(rule, "rule")
    root: list[Condition | Group] = []
    # (depth, path, items, where the parsed children go); built iteratively, finished bottom-up.
    pending: list[tuple[int, str, list[Any], list[Condition | Group]]] = [(1, "rule", items, root)]
    groups: list[tuple[list[Condition | Group], list[Condition | Group], str]] = []
    conditions = 0
    while pending:
        depth, path, children, out = pending.pop()
        for i, child in enumerate(children):
            where = f"{path}.{i}"
            conditions += 1  # nested rules count as conditions too
            if conditions > MAX_CONDITIONS:
                raise RuleTooLarge(f"At most {MAX_CONDITIONS} conditions.", path=where)
            if isinstance(child, dict) and ("all" in child or "any" in child):
                if depth + 1 > MAX_DEPTH:
                    raise RuleTooLarge(f"Rules nest at most {MAX_DEPTH} levels.", path=where)
                sub_mode, sub_items = _shape(child, where)
                sub_out: list[Condition | Group] = []
                groups.append((out, sub_out, sub_mode))
                pending.append((depth + 1, where, sub_items, sub_out))
            else:
                out.append(condition(child, where))
    for parent, children_out, sub_mode in reversed(groups):
        parent.append(Group(sub_mode, tuple(children_out)))
    return Group(mode, tuple(root))


def _number(value: Any, where: str, lo: float, hi: float, integer: bool = False) -> float | int:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or (integer and not isinstance(value, int)) or not lo <= value <= hi:
        kind = "an integer" if integer else "a number"
        raise InvalidRule(f"Expected {kind} from {lo} to {hi}.", path=where)
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        raise InvalidRule(f"Expected a string of 1 to {MAX_TEXT} characters.", path=where)
    return value


def _uuid(value: Any, where: str) -> uuid.UUID:
    try:
        return uuid.UUID(_text(value, where))
    except ValueError:
        raise InvalidRule("Expected a product id.", path=where) from None


def _moment(value: Any, where: str) -> datetime:
    try:
        text = _text(value, where)
        parsed = (
            datetime.fromisoformat(text)
            if "T" in text
            else datetime.combine(date.fromisoformat(text), datetime.min.time())
        )
    except ValueError:
        raise InvalidRule("Expected an ISO 8601 date or time.", path=where) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lifecycle(value: Any, where: str) -> str:
    if value not in STAGES:
        raise InvalidRule(f"Lifecycle is one of {', '.join(STAGES)}.", path=where)
    return str(value)


_VALUE: dict[str, Callable[[Any, str], Any]] = {
    "province": _text, "city": _text, "category": _text, "interest": _text,
    "product_id": _uuid, "lifecycle": _lifecycle, "first_scan_at": _moment,
    "scans_90d": lambda v, w: _number(v, w, 0, 1_000_000, integer=True),
    "rating_avg": lambda v, w: _number(v, w, 1, 5),
    "reward_ratio": lambda v, w: _number(v, w, 0, 1),
}  # fmt: skip


def condition(node: Any, where: str) -> Condition:
    """One condition, validated."""
    if not isinstance(node, dict) or set(node) != {"field", "op", "value"}:
        raise InvalidRule('A condition is {"field", "op", "value"}.', path=where)
    field, op, value = node["field"], node["op"], node["value"]
    if field not in OPERATORS:
        raise InvalidRule(f"Unknown field {str(field)[:40]!r}.", path=where)
    if op not in OPERATORS[field]:
        raise InvalidRule(f"Unknown operator {str(op)[:40]!r} for {field}.", path=where)
    check = _VALUE[field]
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_VALUES:
            raise InvalidRule(f"'in' takes a list of 1 to {MAX_VALUES} values.", path=where)
        return Condition(field, op, tuple(check(v, where) for v in value))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidRule("'between' takes [low, high].", path=where)
        low, high = check(value[0], where), check(value[1], where)
        if low > high:
            raise InvalidRule("'between' needs low <= high.", path=where)
        return Condition(field, op, (low, high))
    return Condition(field, op, (check(value, where),))


def product_ids(group: Group) -> set[uuid.UUID]:
    """Every product id a rule names (checked against the brand's products)."""
    out: set[uuid.UUID] = set()
    stack: list[Condition | Group] = [group]
    while stack:
        node = stack.pop()
        if isinstance(node, Group):
            stack.extend(node.items)
        elif node.field == "product_id":
            out.update(node.values)
    return out


def compile_rule(group: Group, brand_id: uuid.UUID, now: datetime) -> ColumnElement[bool]:
    """The rule as one SQL condition over ``consumer_profiles`` (for one brand, at ``now``)."""
    bounds = Bounds.at(now)
    parts = [
        compile_rule(item, brand_id, now) if isinstance(item, Group)
        else _condition(item, bounds)
        for item in group.items
    ]  # fmt: skip
    return and_(true(), *parts) if group.mode == "all" else or_(false(), *parts)


def _range(column: Any, c: Condition) -> Any:
    if c.op == "eq":
        return column == c.values[0]
    if c.op == "gte":
        return column >= c.values[0]
    if c.op == "lte":
        return column <= c.values[0]
    return column.between(c.values[0], c.values[1])


def _condition(c: Condition, bounds: Bounds) -> Any:
    p = ConsumerProfile
    lists: dict[str, Any] = {
        "province": p.provinces, "city": p.cities, "product_id": p.product_ids,
        "category": p.categories, "interest": p.interests,
    }  # fmt: skip
    if c.field in lists:
        values = c.values
        if c.field == "product_id":
            values = tuple(product_key(v) for v in values)
        return has_any(lists[c.field], values)
    if c.field == "lifecycle":
        return stage_sql(bounds).in_(c.values)
    columns: dict[str, Any] = {
        "scans_90d": p.scans_90d,
        "rating_avg": p.rating_avg,
        "reward_ratio": p.reward_ratio,
        "first_scan_at": p.first_scan_at,
    }
    return _range(columns[c.field], c)
