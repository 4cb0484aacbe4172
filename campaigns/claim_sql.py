"""The whole claim of a win in one PostgreSQL statement (one round trip, no savepoint).

Data-modifying CTEs, chained so that PostgreSQL takes the locks in the one lock order
(``campaigns.claim``): ``c`` locks the campaign row, ``t`` the tier (it waits for ``c`` through
its ``EXISTS``), ``wl`` the consumer's win counters (waits for ``t``); ``g`` decides the outcome
from the locked rows (the campaign runs, by PostgreSQL's clock, at the draw's version; budget;
tier; limits on Redis's day); ``d`` records the draw with that outcome (nothing if the code
already has its draw for the campaign: the unique key); only a won draw goes on to ``w`` (count
the win), ``cu``/``tu`` (spend budget and tier) and ``a``/``p`` (the award and its payout).
Every guard is re-checked on the locked rows, so concurrent claims cannot overspend.

One race is left to the caller: two first wins of one consumer in one campaign at once find no
counters row to lock; the second's upsert then waits for the first and may be refused by the
limit after its draw was recorded as won. ``w`` is then empty, nothing was spent or awarded.
Run in the request's transaction (``strict`` false), the caller corrects the draw's outcome (a
second statement, only in that case). Run as a transaction of its own (``strict``: the scan's
only write, ``core.db.Database.alone_row``), the statement fails instead (``claim_raced()``,
SQLSTATE 40001), keeping nothing, and the caller runs it again: the other win is then visible
and locked, and the limit is decided in the statement like any other refusal.

Alone, a claim is first tried short (``WIN``): guarded updates straight on the campaign row
(status, version, window by PostgreSQL's clock, budget) and the tier row (current, not
exhausted), the counters' upsert under the limits, then the draw (won), award and payout, each
only from the row the step before returned. If any step does not take, ``claim_not_won()`` fails
the statement (SQLSTATE P0002), nothing of it is kept, and the caller runs the full claim above,
which decides and records the refusal. A win, the common case, thus touches each hot row once:
no ``FOR UPDATE`` followed by an ``UPDATE`` of the same row, which a claim that waited for
another's commit re-checks twice (EvalPlanQual) where the short one re-checks once.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import TextClause, text

#: The consumer's win counted (lock 4), only from a row of ``{source}`` and under the limits.
_COUNT = """
  INSERT INTO campaign_consumer_wins AS cw (campaign_id, consumer_id, total, day, day_count)
  SELECT :campaign_id, :consumer_id, 1, :day, 1 {source}
  ON CONFLICT (campaign_id, consumer_id) DO UPDATE
  SET total = cw.total + 1,
      day_count = CASE WHEN cw.day = :day THEN cw.day_count + 1 ELSE 1 END, day = :day
  WHERE (CAST(:total_cap AS integer) IS NULL OR cw.total < CAST(:total_cap AS integer))
    AND (CAST(:day_cap AS integer) IS NULL OR cw.day <> :day
         OR cw.day_count < CAST(:day_cap AS integer))
  RETURNING 1 AS ok"""

#: The draw row with ``{outcome}`` (lock 5: its (campaign, code) key), from a row of ``{source}``.
_DRAW = """
  INSERT INTO draws (id, brand_id, campaign_id, campaign_version, scan_id, code_key_id, serial,
                     consumer_id, random_ppm, tier_id, amount, outcome, created_at)
  SELECT :draw_id, :brand_id, :campaign_id, :version, :scan_id, :code_key_id, :serial,
         :consumer_id, :random_ppm, :tier_id, :amount, {outcome}, :at
  {source}
  ON CONFLICT (campaign_id, code_key_id, serial) DO NOTHING"""

#: The award (``a``) and its payout (``p``), from a row of ``{source}``.
_AWARD = """, a AS (
  INSERT INTO awards (id, brand_id, campaign_id, draw_id, consumer_id, kind, amount, status,
                      scan_id, code_key_id, serial, created_at, updated_at)
  SELECT :award_id, :brand_id, :campaign_id, :draw_id, :consumer_id, :kind, :amount,
         :award_status, :scan_id, :code_key_id, :serial, :at, :at
  FROM {source} RETURNING id
), p AS (
  INSERT INTO payouts (%(payout_columns)s)
  SELECT %(payout_values)s
  FROM a WHERE CAST(:red_packet AS boolean) RETURNING 1
)"""

_CLAIM = """
WITH c AS (
  SELECT status, version, starts_at, ends_at, spent, budget, statement_timestamp() AS now
  FROM campaigns WHERE id = :campaign_id FOR UPDATE
), t AS (
  SELECT retired, quantity, awarded FROM prize_tiers
  WHERE id = :tier_id AND EXISTS (SELECT 1 FROM c) FOR UPDATE
), wl AS (
  SELECT total, day, day_count FROM campaign_consumer_wins
  WHERE campaign_id = :campaign_id AND consumer_id = :consumer_id AND EXISTS (SELECT 1 FROM t)
  FOR UPDATE
), g AS (
  SELECT CASE
    WHEN c.status <> 'active' OR c.version <> :version OR c.starts_at > c.now
         OR c.ends_at <= c.now OR t.retired THEN 'stale'
    WHEN c.spent + :amount > c.budget THEN 'budget_exhausted'
    WHEN t.quantity IS NOT NULL AND t.awarded >= t.quantity THEN 'tier_exhausted'
    WHEN CAST(:total_cap AS integer) IS NOT NULL
         AND COALESCE(wl.total, 0) >= CAST(:total_cap AS integer) THEN 'limit_reached'
    WHEN CAST(:day_cap AS integer) IS NOT NULL AND wl.day = :day
         AND wl.day_count >= CAST(:day_cap AS integer) THEN 'limit_reached'
    ELSE 'won' END AS outcome
  FROM c CROSS JOIN t LEFT JOIN wl ON true
), d AS (""" + _DRAW.format(outcome="g.outcome", source="FROM g WHERE g.outcome <> 'stale'") + """
  RETURNING outcome
), w AS (""" + _COUNT.format(source="FROM d WHERE d.outcome = 'won'") + """
), cu AS (
  UPDATE campaigns SET spent = spent + :amount, awards_count = awards_count + 1
  WHERE id = :campaign_id AND EXISTS (SELECT 1 FROM w) RETURNING 1
), tu AS (
  UPDATE prize_tiers SET awarded = awarded + 1
  WHERE id = :tier_id AND EXISTS (SELECT 1 FROM w) RETURNING 1
)""" + _AWARD.format(source="w") + """
SELECT (SELECT outcome FROM g) AS decided, (SELECT outcome FROM d) AS recorded,
       EXISTS (SELECT 1 FROM w) AS counted,
       (SELECT count(*) FROM cu) + (SELECT count(*) FROM tu) + (SELECT count(*) FROM a)
       + (SELECT count(*) FROM p) AS written,
       CASE WHEN CAST(:strict AS boolean) AND (SELECT outcome FROM d) = 'won'
                 AND NOT EXISTS (SELECT 1 FROM w) THEN claim_raced() END AS raced
"""

#: The short claim: each step a guarded write that takes only if the one before it did, in the
#: lock order; a step that does not take fails the whole statement (``claim_not_won()``).
WIN = """
WITH c AS (
  UPDATE campaigns SET spent = spent + :amount, awards_count = awards_count + 1
  WHERE id = :campaign_id AND status = 'active' AND version = :version
    AND starts_at <= statement_timestamp() AND ends_at > statement_timestamp()
    AND spent + :amount <= budget
  RETURNING 1
), t AS (
  UPDATE prize_tiers SET awarded = awarded + 1
  WHERE id = :tier_id AND NOT retired AND (quantity IS NULL OR awarded < quantity)
    AND EXISTS (SELECT 1 FROM c)
  RETURNING 1
), w AS (""" + _COUNT.format(source="WHERE EXISTS (SELECT 1 FROM t)") + """
), d AS (""" + _DRAW.format(outcome="'won'", source="WHERE EXISTS (SELECT 1 FROM w)") + """
  RETURNING 1
)""" + _AWARD.format(source="d") + """
SELECT CASE WHEN EXISTS (SELECT 1 FROM a) THEN true ELSE claim_not_won() END AS won
"""

CORRECT = text("UPDATE draws SET outcome = 'limit_reached' WHERE id = :draw_id")

#: A draw that won nothing (or was refused); a code already drawn for the campaign keeps its draw.
RECORD = """
INSERT INTO draws (id, brand_id, campaign_id, campaign_version, scan_id, code_key_id, serial,
                   consumer_id, random_ppm, tier_id, amount, outcome, created_at)
VALUES (%(id)s, %(brand_id)s, %(campaign_id)s, %(campaign_version)s, %(scan_id)s,
        %(code_key_id)s, %(serial)s, %(consumer_id)s, %(random_ppm)s, %(tier_id)s, %(amount)s,
        %(outcome)s, %(created_at)s)
ON CONFLICT (campaign_id, code_key_id, serial) DO NOTHING
"""


@functools.cache
def statement(payout_columns: tuple[str, ...], *, short: bool = False) -> TextClause:
    """The full claim (``short``: the short one), inserting a payout with these columns
    (``campaigns.payouts.payout_values`` decides them: the statement follows the payout model
    without knowing it)."""
    return text((WIN if short else _CLAIM) % {
        "payout_columns": ", ".join(payout_columns),
        "payout_values": ", ".join(f":payout_{c}" for c in payout_columns),
    })  # fmt: skip


@functools.cache
def driver_sql(payout_columns: tuple[str, ...], *, short: bool = False) -> str:
    """The same claim with psycopg's ``%(name)s`` placeholders (``core.db.Database.first_row``)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", statement(payout_columns, short=short).text)


def params(payout: dict[str, Any], **values: Any) -> dict[str, Any]:
    """The statement's parameters (enums as their values)."""
    values.update({f"payout_{k}": v for k, v in payout.items()})
    return {k: getattr(v, "value", v) for k, v in values.items()}
