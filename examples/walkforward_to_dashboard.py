"""Walk-forward to dashboard: synthetic bars, a small walk-forward of a plain numpy model for three
hyperparameter settings, each run logged with its predictions and a trade simulation, then the best run
found and its equity summarised. Everything then shows in the dashboard (`stage1 serve`, open `/`).

    pip install -e clients/python[pandas]
    stage1 serve &                 # or point STAGE1_URL / STAGE1_TOKEN (or `stage1 login`) at a server
    python examples/walkforward_to_dashboard.py

No network data: the bars are a seeded random walk with a little momentum for the model to find.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd
from stage1_client import Client, Fold, InvalidInput, fold

BARS, TRAIN, TEST = 2_000, 600, 200


def make_bars(n: int = BARS, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, 0.004, n)
    returns = np.zeros(n)
    for i in range(1, n):  # AR(1) returns: a weak, learnable momentum
        returns[i] = 0.15 * returns[i - 1] + shocks[i]
    close = 100 * np.exp(np.cumsum(returns))
    spread = np.abs(rng.normal(0, 0.002, n)) * close
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC"),
            "open": np.r_[close[0], close[:-1]],
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.uniform(10, 100, n),
        }
    )


def walk_forward(bars: pd.DataFrame, lags: int) -> tuple[list[Fold], pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Least squares on the last `lags` returns predicts the next bar's return; long or short by its sign,
    one trade per test bar. Folds are inclusive bar indexes; each test window follows its train window."""
    close = bars["close"].to_numpy()
    ret = np.r_[0.0, np.diff(np.log(close))]
    x = np.column_stack([np.roll(ret, k) for k in range(1, lags + 1)])  # row i: returns of bars i-1..i-lags
    target = np.r_[ret[1:], 0.0]  # the return of the next bar, known only after it
    folds, preds, trades = [], [], []
    for number, start in enumerate(range(lags + 1, len(bars) - TRAIN - TEST + 1, TEST)):
        train, test = (start, start + TRAIN - 1), (start + TRAIN, start + TRAIN + TEST - 1)
        rows = np.arange(train[0], train[1])  # the last train row's target lies in the test window
        beta, *_ = np.linalg.lstsq(x[rows], target[rows], rcond=None)
        idx = np.arange(test[0], min(test[1], len(bars) - 2) + 1)
        pred = x[idx] @ beta
        side = np.where(pred >= 0, 1.0, -1.0)
        pnl = side * (close[idx + 1] - close[idx])
        hits = float(np.mean(np.sign(pred) == np.sign(target[idx])))
        folds.append(fold(number, train, test, metrics={"hit_rate": hits}))
        time = bars["timestamp"].to_numpy()
        preds.append(
            pd.DataFrame(
                {
                    "timestamp": time[idx],
                    "bar_index": idx,
                    "fold_number": number,
                    "prediction": pred,
                    "target": target[idx],
                }
            )
        )
        trades.append(
            pd.DataFrame(
                {
                    "bar_timestamp": time[idx],
                    "entry_timestamp": time[idx],
                    "exit_timestamp": time[idx + 1],
                    "side": np.where(side > 0, "long", "short"),
                    "entry_price": close[idx],
                    "exit_price": close[idx + 1],
                    "quantity": 1.0,
                    "pnl": pnl,
                    "return_pct": pnl / close[idx] * 100,
                    "fees": 0.0,
                    "fold_number": number,
                }
            )
        )
    all_trades = pd.concat(trades, ignore_index=True)
    per_bar = all_trades["return_pct"].to_numpy() / 100
    metrics = {
        "sharpe": float(per_bar.mean() / per_bar.std() * np.sqrt(24 * 365)) if per_bar.std() else 0.0,
        "hit_rate": float(np.mean(all_trades["pnl"] > 0)),
        "total_pnl": float(all_trades["pnl"].sum()),
    }
    return folds, pd.concat(preds, ignore_index=True), all_trades, metrics


def best_run(stage1: Client, slug: str) -> str:
    """The run with the highest Sharpe: the server's search when it has it, else list + sort here."""
    try:  # the order names metrics.sharpe, so the client asks for it as a column
        found = stage1.runs.search(f"dataset.slug = '{slug}'", order_by="metrics.sharpe desc", limit=1, as_="records")
    except InvalidInput:  # a server that refuses the search parameters
        found = []
    if found and "metrics.sharpe" in found[0]:
        return str(found[0]["run_id"])
    print("(this server has no run search yet: listing the runs and sorting them here)")
    runs = [stage1.runs.get(r) for r in stage1.runs.list(dataset=slug, limit=1000)]
    return max(runs, key=lambda r: (r.summary_metrics or {}).get("sharpe", float("-inf"))).run_id


def main() -> None:
    bars, slug = make_bars(), f"example_{uuid.uuid4().hex[:6]}"
    # ---- the researcher's part: the whole loop against the service -------------------------------
    stage1 = Client()
    stage1.datasets.create(slug, "SYNTH", "1h", ohlcv=bars)
    for lags in (2, 5, 10):
        folds, preds, trades, metrics = walk_forward(bars, lags)
        run = stage1.runs.log(
            slug,
            folds=folds,
            predictions=preds,
            hyperparameters={"lags": lags},
            metrics=metrics,
            name=f"ols lags={lags}",
            tags={"model": "ols"},
        )
        stage1.simulations.log(run, trades=trades, config={"initial_capital": 10_000.0}, metrics=metrics)
    best = best_run(stage1, slug)
    simulation = stage1.simulations.list(run=best)[0]
    equity = stage1.simulations.equity(simulation)
    # -----------------------------------------------------------------------------------------------
    params = stage1.runs.get(best).hyperparameters
    print(f"dataset {slug}: {len(bars)} bars; best run {best} {params}")
    for key, value in equity.summary().items():
        print(f"  {key:>16}: {value:,.4f}" if isinstance(value, float) else f"  {key:>16}: {value}")


if __name__ == "__main__":
    main()
