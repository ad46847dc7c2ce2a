"""Write the API's contract for the web client: the OpenAPI document to
web/src/api/openapi.json and the live events' JSON Schema
(pc_core/models/live_events.py) beside it, to web/src/api/live-events.json.

The web client's types are generated from these snapshots (src/api/schema.d.ts by
`npm run gen:api`, src/api/live-events.d.ts by `npm run gen:events`), so they must be
byte-for-byte repeatable: sorted keys, two-space indent, one trailing newline. Tests
compare them with the live app's document and the models.

Run: `.venv/bin/python web/scripts/dump_openapi.py` (or `npm run dump:api` in web/).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "web" / "src" / "api" / "openapi.json"
EVENTS_TARGET = ROOT / "web" / "src" / "api" / "live-events.json"


def _json(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> str:
    """The document as the snapshot stores it."""
    sys.path.insert(0, str(ROOT))
    from pc_api.main import create_app

    return _json(create_app().openapi())


def render_live_events() -> str:
    """The live events' JSON Schema as the snapshot stores it."""
    sys.path.insert(0, str(ROOT))
    from pc_core.models.live_events import live_events_schema

    return _json(live_events_schema())


def main() -> None:
    for target, text in ((TARGET, render()), (EVENTS_TARGET, render_live_events())):
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
