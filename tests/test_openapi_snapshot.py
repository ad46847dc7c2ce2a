"""The web client's API types are generated from a committed snapshot of the OpenAPI
document (web/src/api/openapi.json → schema.d.ts); this fails when the API and the
snapshot drift apart, so the client never compiles against a stale contract."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "web" / "src" / "api" / "openapi.json"
DUMP_SCRIPT = ROOT / "web" / "scripts" / "dump_openapi.py"
HOW = ("regenerate with `.venv/bin/python web/scripts/dump_openapi.py && "
       "(cd web && npm run gen:api)` and commit web/src/api/openapi.json and schema.d.ts")


def _render() -> str:
    spec = importlib.util.spec_from_file_location("dump_openapi", DUMP_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render()


@pytest.mark.skipif(not SNAPSHOT.exists() or not DUMP_SCRIPT.exists(),
                    reason="no web client in this checkout (web/src/api/openapi.json)")
def test_openapi_snapshot_matches_the_api():
    current = _render()
    stored = SNAPSHOT.read_text(encoding="utf-8")
    if current != stored:
        diff = "".join(list(difflib.unified_diff(
            stored.splitlines(keepends=True), current.splitlines(keepends=True),
            "web/src/api/openapi.json (committed)", "create_app().openapi() (now)", n=2))[:60])
        pytest.fail(f"The API changed and the web client's snapshot did not: {HOW}.\n{diff}")
