"""Who may follow a lead live: join its Socket.IO room ``lead:{id}`` (viewer presence,
"N others viewing", and the lead's own events).

- Whoever may see the lead (``pc_core.leads.inventory.get_lead_doc``): its seller, its buyer,
  the owner.
- While the lead is listed on the marketplace, any signed-in partner: a buyer
  looking at the listing, who sees "N others viewing" like the seller does.

Because of the second rule a lead's room may hold other partners' buyers, so only
anonymised events go there: ids, stage, status changes and viewer counts, never
the contact, the company or who the other viewers are (``pc_core.events`` strips
``events.PRIVATE_FIELDS`` from anything sent to a lead room). An unlisted lead of
another partner answers *not found*, as everywhere, so ids cannot be probed.
"""

from __future__ import annotations

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import NotFound
from pc_core.leads.inventory import get_lead_doc
from pc_core.stages import LeadStatus


def require_followable(db: Database, actor: Principal, lead_id: str) -> None:
    """``NotFound`` unless ``actor`` may join the lead's room (see the module docstring)."""
    try:
        get_lead_doc(db, actor, lead_id)
        return
    except NotFound:
        if actor.partner_id is None:
            raise
    doc = db[c.LEADS].find_one({"_id": lead_id}, {"status": 1})
    if doc is None or doc.get("status") != LeadStatus.LISTED.value:
        raise NotFound("lead not found")
