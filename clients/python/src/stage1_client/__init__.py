"""Python client of the Stage1 research service.

from stage1_client import Client
stage1 = Client()
stage1.datasets.create("btc_1h", "BTCUSDT", "1h", ohlcv=bars)
run = stage1.runs.log("btc_1h", folds=folds, predictions=predictions, metrics={"sharpe": 1.3})
"""

from stage1_client.client import VERSION as __version__
from stage1_client.client import AsyncClient, Client
from stage1_client.config import save_login
from stage1_client.errors import (
    Conflict,
    ConnectionFailed,
    Forbidden,
    GatewayTimeout,
    InsufficientStorage,
    InvalidInput,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Stage1Error,
    Unauthorized,
    UnsupportedFormat,
    UpstreamError,
)
from stage1_client.models import (
    Dataset,
    Equity,
    Event,
    Fold,
    ImportResult,
    Job,
    Measurement,
    Page,
    Run,
    RunSaved,
    Simulation,
    SimulationSaved,
    Token,
)
from stage1_client.runs import fold

__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Dataset",
    "Equity",
    "Event",
    "Fold",
    "Forbidden",
    "GatewayTimeout",
    "ImportResult",
    "InsufficientStorage",
    "InvalidInput",
    "Job",
    "JobFailed",
    "Measurement",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "RateLimited",
    "Run",
    "RunSaved",
    "ServerError",
    "ServiceUnavailable",
    "Simulation",
    "SimulationSaved",
    "Stage1Error",
    "Token",
    "Unauthorized",
    "UnsupportedFormat",
    "UpstreamError",
    "__version__",
    "fold",
    "save_login",
]
