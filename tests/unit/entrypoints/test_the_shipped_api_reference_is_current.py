"""docs/api.md, the API reference a clone ships, is the rendering of docs/openapi.json (kept in step with the
app by its own test): regenerate both with `stage1 openapi -o docs/openapi.json && python scripts/api_reference.py`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_docs_api_md_is_rendered_from_the_checked_in_openapi_document() -> None:
    spec = importlib.util.spec_from_file_location("api_reference", ROOT / "scripts" / "api_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == module.render(document)


def test_the_readme_and_docs_link_only_files_the_clone_has() -> None:
    for page in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text, page.name
        for target in __import__("re").findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / target).exists(), f"{page.name} links {target}, which the clone lacks"
