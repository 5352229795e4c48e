"""The five searches of the search benchmark, in Stage1's language and, where it can say them, MLflow's.

In MLflow a run's dataset symbol is a tag (that is how its users record it), params are strings, a
finished run is FINISHED, and a filter is a conjunction of comparisons: no OR, no parentheses, and
params compare only with =, !=, LIKE and ILIKE (its IN is for run ids and datasets).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    filter: str
    order_by: str
    sort_metric: str  # the metric of order_by, read back from both answers to check they agree
    mlflow_filter: str | None
    mlflow_order_by: str | None
    mlflow_cannot: str = ""  # why MLflow cannot express it, when it cannot


CASES = (
    Case(
        "F1 metric range, param",
        "metrics.sharpe > 1.5 AND params.max_depth = 5",
        "metrics.sharpe desc",
        "sharpe",
        "metrics.sharpe > 1.5 and params.max_depth = '5'",
        "metrics.sharpe DESC",
    ),
    Case(
        "F2 dataset, status, metric",
        "dataset.symbol = 'BTCUSD' AND status = 'COMPLETED' AND metrics.sortino > 1",
        "metrics.sortino desc",
        "sortino",
        "tags.symbol = 'BTCUSD' and attributes.status = 'FINISHED' and metrics.sortino > 1",
        "metrics.sortino DESC",
    ),
    Case(
        "F3 tag, metric, other sort",
        "tags.owner = 'ana' AND metrics.win_rate > 0.5",
        "metrics.profit_factor desc",
        "profit_factor",
        "tags.owner = 'ana' and metrics.win_rate > 0.5",
        "metrics.profit_factor DESC",
    ),
    Case(
        "F4 OR in parentheses",
        "metrics.sharpe > 1.2 AND (params.max_depth IN (3, 5) OR tags.owner = 'ana')",
        "metrics.sharpe desc",
        "sharpe",
        None,
        None,
        "OR, parentheses, IN on a param",
    ),
    Case(
        "F5 numeric param range",
        "status = 'FAILED' AND params.eta < 0.1 AND metrics.max_drawdown > -0.2",
        "metrics.calmar asc",
        "calmar",
        None,
        None,
        "a numeric comparison on a param (params are strings: =, !=, LIKE, ILIKE only)",
    ),
)

# Keyset paging: a filter most runs pass, sorted by a metric, walked page by page through next_cursor.
PAGING = Case("paging", "status = 'COMPLETED'", "metrics.sharpe desc", "sharpe", None, None)
