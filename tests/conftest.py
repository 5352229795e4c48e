import pytest
from hypothesis import HealthCheck, settings

# The suite runs on shared, often busy machines: a slow draw there is load, not a broken property.
settings.register_profile("stage1", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("stage1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
