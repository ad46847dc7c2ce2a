"""Write the API's OpenAPI document to web/src/api/openapi.json.

The web client's types (src/api/schema.d.ts, `npm run gen:api`) are generated
from this snapshot, so it must be byte-for-byte repeatable: sorted keys, two-space
indent, one trailing newline. A test compares it with the live app's document.

Run: `.venv/bin/python web/scripts/dump_openapi.py` (or `npm run dump:api` in web/).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "web" / "src" / "api" / "openapi.json"


def render() -> str:
    """The document as the snapshot stores it."""
    sys.path.insert(0, str(ROOT))
    from pc_api.main import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
