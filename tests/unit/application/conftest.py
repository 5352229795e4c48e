"""Use cases driven through in-memory fakes of every port."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.application.harness import Harness


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)
