"""A brand's rule settings and score bands, and pseudonymous ids for evidence."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from accounts.models import Brand
from core import audit
from core.audit import CLI, Actor
from core.db import db
from fraud.errors import InvalidRuleParams, UnknownRule
from fraud.models import RuleSettingRow
from fraud.rules import RULES, RULES_BY_KEY, RuleSetting

DEFAULT_REVIEW_SCORE = 50
DEFAULT_BLOCK_SCORE = 100


@dataclass(frozen=True)
class RuleView:
    """A rule as the API shows it: its description and the brand's setting."""

    key: str
    description: str
    enabled: bool
    weight: int
    params: dict[str, Any]


@dataclass(frozen=True)
class RulePatch:
    """A change to one rule's setting (``None``: unchanged)."""

    enabled: bool | None = None
    weight: int | None = None
    params: dict[str, Any] | None = None


def bands(brand: Brand) -> tuple[float, float]:
    """The brand's review and block scores."""
    review = float(brand.settings.get("fraud_review_score", DEFAULT_REVIEW_SCORE))
    block = float(brand.settings.get("fraud_block_score", DEFAULT_BLOCK_SCORE))
    return review, max(block, review)


def rule_settings(brand: Brand) -> dict[str, RuleSetting]:
    """Every rule's setting for the brand (defaults for rules it has not changed)."""
    rows = {r.key: r for r in db.session.scalars(
        select(RuleSettingRow).where(RuleSettingRow.brand_id == brand.id))}  # fmt: skip
    settings = {}
    for rule in RULES:
        row = rows.get(rule.key)
        settings[rule.key] = (
            RuleSetting(row.enabled, row.weight, {**rule.params, **row.params})
            if row else RuleSetting(True, rule.weight, dict(rule.params))
        )  # fmt: skip
    return settings


def list_rules(brand: Brand) -> list[RuleView]:
    """The rules with their descriptions and the brand's settings."""
    settings = rule_settings(brand)
    return [
        RuleView(
            r.key,
            r.description,
            settings[r.key].enabled,
            settings[r.key].weight,
            settings[r.key].params,
        )  # fmt: skip
        for r in RULES
    ]


def _check_params(key: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the rule's own parameters, each a non-negative number (``markets``: a mapping)."""
    defaults = RULES_BY_KEY[key].params
    errors: dict[str, Any] = {}
    for name, value in params.items():
        if name not in defaults and not (key == "out_of_market" and name == "markets"):
            errors[name] = ["Unknown parameter for this rule."]
        elif name == "markets":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(p, str) for p in v) for v in value.values()
            ):
                errors[name] = ["A mapping of code batch ids to lists of provinces."]
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1e6:
            errors[name] = ["A number between 0 and 1,000,000."]
    if errors:
        raise InvalidRuleParams(errors={"params": errors})
    return params


def update_rule(brand: Brand, key: str, patch: RulePatch, *, actor: Actor = CLI) -> RuleView:
    """Change one rule's setting for the brand."""
    if key not in RULES_BY_KEY:
        raise UnknownRule()
    rule = RULES_BY_KEY[key]
    row = db.session.get(RuleSettingRow, (brand.id, key)) or RuleSettingRow(
        brand_id=brand.id, key=key, enabled=True, weight=rule.weight, params={}
    )
    db.session.add(row)
    if patch.enabled is not None:
        row.enabled = patch.enabled
    if patch.weight is not None:
        row.weight = patch.weight
    if patch.params is not None:
        row.params = {**row.params, **_check_params(key, patch.params)}
    audit.record(brand.id, actor, "fraud.rule_update", f"fraud_rule:{key}",
                 {"enabled": row.enabled, "weight": row.weight, "params": row.params})  # fmt: skip
    db.session.flush()
    return next(r for r in list_rules(brand) if r.key == key)


def markets(brand: Brand) -> dict[str, list[str]]:
    """Intended markets of code batches (the ``out_of_market`` rule's ``markets`` parameter)."""
    value = rule_settings(brand)["out_of_market"].params.get("markets") or {}
    return {str(k): list(v) for k, v in value.items()}


def pseudonym(brand_id: object, kind: str, value: str | None) -> str | None:
    """A stable pseudonymous id for a consumer, device or IP in a brand's evidence."""
    if value is None:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"fraud:{brand_id}:{kind}:{value}".encode(), hashlib.sha256)
    return f"{kind[0]}_{digest.hexdigest()[:12]}"
