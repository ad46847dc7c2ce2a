"""Live event → DOM update, in two browser contexts (two agencies with the
marketplace open): a lead is listed (``lead-listed`` → its card appears) and then
reserved by a third agency (``lead-reserved`` → its card goes). Latency is measured
from just before the publish (listing) or the reserve call to the DOM change seen by
a MutationObserver, in epoch milliseconds on the same machine. Target: p95 <= 500 ms.

    .venv/bin/python bench/web_live_bench.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import figure, parse, quick_flag  # noqa: E402
from _stack import pct  # noqa: E402
from _web import DEMO_PASSWORD, web_bench, web_built  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from pc_core import collections as c  # noqa: E402
from pc_core.access import Principal, Role  # noqa: E402
from pc_core.leads.inventory import build_lead_doc
from pc_core.marketplace.listings import announce_listed  # noqa: E402
from pc_core.marketplace.reservations import reserve  # noqa: E402
from pc_core.models.leads import LeadFields
from pc_core.stages import LeadStatus  # noqa: E402
from pc_core.timeutil import utcnow  # noqa: E402
from tests.web.browser import new_context, sign_in_api  # noqa: E402

NAME = "web live updates"
TARGET_MS = 500
WATCHERS = ("admin@bluebird.example.com", "user@northwind.example.com")
RESERVER = Principal(user_id="bench", role=Role.ADMIN, partner_id="operator")

OBSERVE = """() => {
  window.__seen = {}; window.__gone = {};
  const scan = () => {
    const t = performance.timeOrigin + performance.now();
    const cards = document.querySelectorAll('[data-lead-id]');
    const ids = new Set([...cards].map(e => e.dataset.leadId));
    const seen = window.__seen, gone = window.__gone;
    for (const id of ids) if (!(id in seen)) seen[id] = t;
    for (const id in seen) if (!ids.has(id) && !(id in gone)) gone[id] = t;
  };
  scan();
  new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
}"""


def wait_for(page, table: str, lead_id: str, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = page.evaluate(f"(id) => window.{table}[id] ?? null", lead_id)
        if t is not None:
            return float(t)
        time.sleep(0.01)
    raise TimeoutError(f"{lead_id} never reached {table}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    quick_flag(ap, rounds=5)
    args = parse(ap)
    if not web_built():
        figure(NAME, "web client built (web/dist)", False, equals=True)
        return
    appear, vanish = [], []
    with web_bench() as bench:
        # One reserving agency for every round: lift its cap on active reservations.
        settings = bench.stack.settings.model_copy(
            update={"max_active_reservations": args.rounds + 20})
        pages = []
        for email in WATCHERS:
            context = new_context(bench.browser, bench.stack.api_url)
            sign_in_api(context, email, DEMO_PASSWORD)
            page = context.new_page()
            page.goto("/marketplace")
            expect(page.get_by_text("Live updates on")).to_be_attached(timeout=15_000)
            page.get_by_role("list", name="Listings").wait_for()
            page.evaluate(OBSERVE)
            pages.append(page)
        for _ in range(args.rounds):
            doc = build_lead_doc("northwind", LeadFields(
                title="Bench lead", industry=f"Bench {uuid.uuid4().hex[:6]}", location="US",
                company_size="51-200"), source="bench", now=utcnow(), status=LeadStatus.LISTED)
            bench.db[c.LEADS].insert_one(doc)
            t_emit = time.time() * 1000
            announce_listed(bench.db, settings, [doc])
            appear += [wait_for(p, "__seen", doc["_id"]) - t_emit for p in pages]
            t_emit = time.time() * 1000
            reserve(bench.db, settings, RESERVER, doc["_id"])
            vanish += [wait_for(p, "__gone", doc["_id"]) - t_emit for p in pages]
            time.sleep(0.2)
    both = appear + vanish
    print(f"{args.rounds} rounds × {len(WATCHERS)} contexts; listing appears p50 "
          f"{pct(appear, 50):.0f} ms, p95 {pct(appear, 95):.0f} ms; reserved listing goes p50 "
          f"{pct(vanish, 50):.0f} ms, p95 {pct(vanish, 95):.0f} ms")
    figure(NAME, "lead-listed → card shown, p95", round(pct(appear, 95)), "ms",
           at_most=TARGET_MS)
    figure(NAME, "lead-reserved → card gone, p95", round(pct(vanish, 95)), "ms",
           at_most=TARGET_MS)
    figure(NAME, "event → DOM, all, p50", round(pct(both, 50)), "ms")
    figure(NAME, "event → DOM, all, p95", round(pct(both, 95)), "ms", at_most=TARGET_MS)
    figure(NAME, "event → DOM, max", round(max(both)), "ms")


if __name__ == "__main__":
    main()
