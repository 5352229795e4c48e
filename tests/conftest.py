import os

import pytest
from hypothesis import HealthCheck, settings

# Test clients call the app as `testserver.local` (Litestar) or `localhost`; a real browser-facing server answers
# only to the names it is bound to (see entrypoints/http/request_guard.py). Tests of that rule set their own list.
os.environ.setdefault("STAGE1_ALLOWED_HOSTS", '["testserver.local", "testserver", "localhost"]')

# The suite runs on shared, often busy machines: a slow draw there is load, not a broken property.
settings.register_profile("stage1", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("stage1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
