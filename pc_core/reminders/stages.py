"""Partners with unmapped HubSpot stages → their admins, once a day.

An unmapped stage leaves that partner's deals out of the lead table (and off the
marketplace) until an admin maps it, hence a daily nudge while any remain. The
dedupe key carries the date: one email per partner per day, whatever the runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.lead_build.stage_mapping import unmapped_stages
from pc_core.marketplace.notifications import partner_recipients
from pc_core.reminders.once import send_once
from pc_core.settings import Settings


def _listing(stages: list[dict[str, Any]]) -> str:
    rows = [f"- {s.get('pipeline_label') or s.get('pipeline_id')} / "
            f"{s.get('stage_label') or s.get('stage_id')}"
            + (f" (suggested: {s['suggested_stage']})" if s.get("suggested_stage") else "")
            for s in stages[:50]]
    if len(stages) > 50:
        rows.append(f"... and {len(stages) - 50} more")
    return "\n".join(rows)


def remind_unmapped_stages(db: Database, settings: Settings, day: date) -> int:
    by_partner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for stage in unmapped_stages(db):
        by_partner[stage["partner_id"]].append(stage)
    sent = 0
    for partner_id, stages in sorted(by_partner.items()):
        partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"name": 1, "active": 1})
        if partner is None or partner.get("active") is False:
            continue
        stages.sort(key=lambda s: (str(s.get("pipeline_label")), str(s.get("stage_label"))))
        sent += send_once(
            db, settings, key=f"unmapped-stages:{partner_id}:{day.isoformat()}",
            template="unmapped_stages", to=partner_recipients(db, partner_id),
            context={"partner_name": partner.get("name") or partner_id,
                     "count": len(stages), "stages": _listing(stages),
                     "app_url": settings.app_url},
        )
    return sent
