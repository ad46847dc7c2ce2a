"""The webhook subscriptions the app needs, derived from what a lead is built from.

A lead is built from its deal's properties and its first contact's properties
(``lead_builder``), so a change of any of those must reach us within seconds: each one
is a ``*.propertyChange`` subscription. Creations, deletions, merges, restores and
association changes are subscribed for both object types (``webhooks.ingest.event_subject``
says what the run reads for each). ``hubspot-app/`` declares exactly this list; a test
holds the two together.
"""

from __future__ import annotations

#: Deal properties a lead shows (title, amount, stage, company facts).
LEAD_DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname", "amount", "dealstage", "pipeline", "company_name", "industry",
    "company_size", "city", "country",
)
#: Contact properties a lead shows (name, email, phone, company facts).
LEAD_CONTACT_PROPERTIES: tuple[str, ...] = (
    "firstname", "lastname", "email", "phone", "company", "industry", "numemployees",
    "city", "country",
)
#: Object events subscribed for deals and contacts alike.
OBJECT_EVENTS: tuple[str, ...] = (
    "creation", "deletion", "merge", "restore", "associationChange",
)


def subscriptions() -> list[dict[str, object]]:
    """HubSpot's ``legacyCrmObjects`` entries, in a stable order."""
    out: list[dict[str, object]] = []
    for prefix, props in (("deal", LEAD_DEAL_PROPERTIES), ("contact", LEAD_CONTACT_PROPERTIES)):
        out.extend({"subscriptionType": f"{prefix}.{event}", "active": True}
                   for event in OBJECT_EVENTS)
        out.extend({"subscriptionType": f"{prefix}.propertyChange", "propertyName": name,
                    "active": True} for name in props)
    return out
