"""The README's configuration table names every setting the service reads, so none is a secret to operators."""

from __future__ import annotations

import re
from pathlib import Path

from entrypoints.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_setting_has_a_row_in_the_readme_configuration_table() -> None:
    table = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(STAGE1_[A-Z0-9_]+)`", table))
    expected = {f"STAGE1_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - documented) == []
