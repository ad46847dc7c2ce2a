"""The body of one racing client process (tests/test_marketplace_reservations.py).

Kept in a module that imports only httpx: each ``spawn``ed process imports the
target's module, and the test module would drag in the whole platform 50 times.
"""

from __future__ import annotations

import httpx


def reserve_once(url: str, token: str, lead_id: str, start, out) -> None:
    start.wait()
    with httpx.Client(base_url=url, timeout=60) as http:
        r = http.post("/v1/marketplace/reservations", json={"lead_id": lead_id},
                      headers={"Authorization": f"Bearer {token}"})
    out.put(r.status_code)
