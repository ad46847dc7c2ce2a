"""What a pull reads per HubSpot object type, in one place.

The property lists are what the lead table needs (deal: title, amount, stage,
company facts; contact: name, email, phone, company facts) plus the ids and times a
pull itself relies on. Asking for named properties keeps answers small: HubSpot
sends every default property otherwise.
"""

from __future__ import annotations

from typing import Literal

from pc_core import collections as c

ObjectType = Literal["contacts", "deals"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "deals")

DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname", "amount", "dealstage", "pipeline", "closedate", "createdate",
    "hs_lastmodifieddate", "hs_object_id", "hs_merged_object_ids",
    # company facts HubSpot (and the sandbox) keep on the deal
    "company_name", "industry", "company_size", "city", "state", "country",
)
CONTACT_PROPERTIES: tuple[str, ...] = (
    "firstname", "lastname", "email", "phone", "company", "jobtitle", "city", "country",
    "industry", "numemployees", "lastmodifieddate", "hs_object_id", "createdate",
    "hs_merged_object_ids",
)

PROPERTIES: dict[ObjectType, tuple[str, ...]] = {
    "contacts": CONTACT_PROPERTIES,
    "deals": DEAL_PROPERTIES,
}

#: The last-modified property incremental search filters and sorts on.
MODIFIED_PROPERTY: dict[ObjectType, str] = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}

#: Associations kept on the raw document (deal → contacts only).
ASSOCIATIONS: dict[ObjectType, tuple[str, ...]] = {
    "contacts": (),
    "deals": ("contacts",),
}

RAW_COLLECTION: dict[ObjectType, str] = {
    "contacts": c.HUBSPOT_CONTACTS,
    "deals": c.HUBSPOT_DEALS,
}


def check_object_type(object_type: str) -> ObjectType:
    """The object type, or ValueError: a typo must not become an empty pull."""
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"object_type must be one of {OBJECT_TYPES}, got {object_type!r}")
    return object_type  # type: ignore[return-value]
