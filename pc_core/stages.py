"""The shared vocabulary: canonical deal stages and marketplace statuses."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Canonical deal stages every partner's HubSpot stages are mapped onto."""

    NEW = "new"
    CONTACTED = "contacted"
    MEETING_SCHEDULED = "meeting_scheduled"
    MEETING_HELD = "meeting_held"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"
    NON_FIT = "non_fit"


class LeadStatus(StrEnum):
    """Where a lead is in the marketplace, independent of its deal stage.

    ``open``: in its partner's own pipeline. ``listed``: for sale. ``reserved``: held
    by a buyer. ``sold``: bought. ``archived``: withdrawn.
    """

    OPEN = "open"
    LISTED = "listed"
    RESERVED = "reserved"
    SOLD = "sold"
    ARCHIVED = "archived"


# Statuses a seller may set by hand; reserved and sold only come from the marketplace.
MANUAL_STATUSES = frozenset({LeadStatus.OPEN, LeadStatus.LISTED, LeadStatus.ARCHIVED})
# Statuses in which the seller may still change its own status by hand.
SELLER_EDITABLE_STATUSES = MANUAL_STATUSES


def status_for_new_stage(stage: Stage, current: LeadStatus) -> LeadStatus:
    """A lead whose stage becomes ``non_fit`` is listed automatically (design.md)."""
    if stage is Stage.NON_FIT and current is LeadStatus.OPEN:
        return LeadStatus.LISTED
    return current
