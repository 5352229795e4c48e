"""One coherent story for the examples of the OpenAPI document, so "try it out" (and the fuzzer's examples
phase) walks a happy path: a dataset with bars and indicators, a run on it, a simulation of that run."""

from __future__ import annotations

from typing import Final

EXAMPLE_SLUG: Final = "btc_1h"
EXAMPLE_RUN_ID: Final = "5f2b8c3e-4a1d-4e6f-9b7a-2c3d4e5f6a7b"
EXAMPLE_SIMULATION_ID: Final = "7a1c2d3e-5b6f-4a8b-9c0d-1e2f3a4b5c6d"
OHLCV_CSV: Final = (
    "timestamp,open,high,low,close,volume\n"
    "1704067200,42000,42100,41900,42050,12.5\n"
    "1704070800,42050,42200,42000,42150,9.25\n"
    "1704074400,42150,42180,41950,42000,11\n"
)
INDICATORS_CSV: Final = "timestamp,rsi_14\n1704067200,55.2\n1704070800,57.9\n1704074400,49.1\n"
PREDICTIONS_CSV: Final = (
    "timestamp,bar_index,fold_number,prediction,target,threshold_long\n"
    "1704070800,1,1,0.42,0,0.6\n"
    "1704074400,2,1,0.58,1,0.6\n"
)
DATASET_EXAMPLE: Final = {
    "dataset_slug": EXAMPLE_SLUG,
    "symbol": "BTC",
    "granularity": "1h",
    "source": "binance",
    "record_questdb": True,
    "ohlcv_csv": OHLCV_CSV,
    "indicator_csv": INDICATORS_CSV,
}
RUN_EXAMPLE: Final = {
    "dataset_slug": EXAMPLE_SLUG,
    "run_id": EXAMPLE_RUN_ID,
    "target_column": "target",
    "feature_columns": ["rsi_14"],
    "hyperparameters": {"max_depth": 4, "eta": 0.1},
    "folds": [
        {
            "fold_number": 1,
            "train_start": 0,
            "train_end": 0,
            "test_start": 1,
            "test_end": 2,
            "thresholds": {"long": 0.6},
            "metrics": {"auc": 0.57},
        },
    ],
    "predictions_csv": PREDICTIONS_CSV,
}
SIMULATION_EXAMPLE: Final = {
    "run_id": EXAMPLE_RUN_ID,
    "simulation_id": EXAMPLE_SIMULATION_ID,
    "config": {"initial_capital": 10000},
    "trades": [
        {
            "trade_id": 1,
            "bar_timestamp": 1704067200,
            "entry_timestamp": 1704067200,
            "exit_timestamp": 1704070800,
            "side": "long",
            "entry_price": 42050,
            "exit_price": 42150,
            "quantity": 0.1,
            "pnl": 10,
            "return_pct": 0.24,
            "fees": 0.5,
            "fold_number": 1,
        },
        {
            "trade_id": 2,
            "bar_timestamp": 1704070800,
            "entry_timestamp": 1704070800,
            "exit_timestamp": 1704074400,
            "side": "short",
            "entry_price": 42150,
            "exit_price": 42000,
            "quantity": 0.1,
            "pnl": 15,
            "return_pct": 0.36,
            "fees": 0.5,
            "fold_number": 1,
        },
    ],
}
IMPORT_EXAMPLE: Final = {"measurement": "btc_1h_import", "data": OHLCV_CSV, "kind": "ohlcv", "mode": "append"}
