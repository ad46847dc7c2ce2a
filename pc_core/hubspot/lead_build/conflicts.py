"""Per-field "most recent change wins" between the platform and HubSpot.

A lead linked to a HubSpot deal remembers which deal-sourced fields the platform
changed and HubSpot has not received yet (``local_edits``: field → edit time, kept by
``pc_core.leads.inventory.update_lead`` and cleared by the pushback or by HubSpot catching up),
what the pushback last wrote (``pushed``: field → {value, at}) and the HubSpot state it
was last built from (``hubspot_seen_at``). With those, the lead builder decides each
field of an incoming deal:

- not edited in the platform → HubSpot's value is taken (the usual pull);
- HubSpot already has the platform's value → the edit is delivered, nothing to do;
- HubSpot's value is what we pushed (our own change coming back, e.g. by webhook,
  while the platform changed the field again) → an echo: neither a change nor a conflict;
- HubSpot did not change the field since the lead last saw the deal → the platform's
  edit stands (and stays pending push) — a stale value is not a conflict;
- otherwise both sides changed it: a conflict, won by the later change, comparing the
  platform's edit time with HubSpot's property timestamp (``propertiesWithHistory``,
  read only for such contested deals, ≤ 50 per request). Each is recorded.

Fields HubSpot derives from the associated contact (name, email, ...) have no
per-property history here; their HubSpot time is the later of the deal's and the
contact's last-modified times, which can only make HubSpot look newer, never older.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pc_core.hubspot.connection.pages import iso_to_ms
from pc_core.hubspot.connection.transport import HISTORY_READ_MAX, HubSpotApi
from pc_core.hubspot.pull.raw_store import EPOCH
from pc_core.timeutil import ensure_utc

#: Lead field → the deal property it comes from (these have per-property timestamps).
DEAL_PROPERTY = {"title": "dealname", "amount_cents": "amount", "stage": "dealstage"}

#: deal id → property → (value, timestamp of its latest change)
PropertyTimes = dict[str, dict[str, tuple[str | None, datetime]]]
HistoryReader = Callable[[list[str]], PropertyTimes]


@dataclass
class Resolution:
    """What to do with one lead: HubSpot values to take (with their change times),
    edits HubSpot now has or won, and the conflicts decided."""

    take: dict[str, tuple[Any, datetime]] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def needs_history(current: dict[str, Any], target: dict[str, Any],
                  hubspot_at: datetime) -> bool:
    """Whether deciding this lead needs HubSpot's per-property change times: a
    deal-property field edited in the platform, differing in HubSpot, not our echo, on a
    deal HubSpot changed since the lead last saw it."""
    edits = current.get("local_edits") or {}
    seen = current.get("hubspot_seen_at")
    if seen is not None and hubspot_at <= ensure_utc(seen):
        return False
    return any(
        f in edits and f in target and target[f] != current.get(f)
        and not _is_echo(current, f, target[f])
        for f in DEAL_PROPERTY
    )


def _is_echo(current: dict[str, Any], name: str, value: Any) -> bool:
    pushed = (current.get("pushed") or {}).get(name)
    return pushed is not None and pushed.get("value") == value


def resolve(current: dict[str, Any], target: dict[str, Any], hubspot_at: datetime,
            prop_times: dict[str, tuple[str | None, datetime]] | None) -> Resolution:
    """Decide every field of ``target`` (HubSpot's values in lead terms) for the lead
    ``current``. ``hubspot_at``: the deal's (or its contact's) last change;
    ``prop_times``: the deal's per-property change times, when they were read."""
    out = Resolution()
    edits = current.get("local_edits") or {}
    seen = current.get("hubspot_seen_at")
    seen_at = ensure_utc(seen) if seen is not None else None
    for name, theirs in target.items():
        ours = current.get(name)
        if name not in edits:
            if theirs != ours:
                out.take[name] = (theirs, hubspot_at)
            continue
        if theirs == ours:
            out.delivered.add(name)
            continue
        if _is_echo(current, name, theirs):
            continue
        changed_at = _hubspot_time(name, hubspot_at, seen_at, prop_times)
        if changed_at is None:
            continue  # HubSpot did not touch it since we last looked: our edit stands
        edited_at = ensure_utc(edits[name])
        winner = "platform" if edited_at > changed_at else "hubspot"
        out.conflicts.append({
            "lead_id": current["_id"], "field": name,
            "platform_value": ours, "platform_at": edited_at,
            "hubspot_value": theirs, "hubspot_at": changed_at, "winner": winner,
        })
        if winner == "hubspot":
            out.take[name] = (theirs, changed_at)
            out.delivered.add(name)
    return out


def _hubspot_time(name: str, hubspot_at: datetime, seen_at: datetime | None,
                  prop_times: dict[str, tuple[str | None, datetime]] | None) -> datetime | None:
    """When HubSpot last changed the field, or ``None`` if not since ``seen_at``."""
    if seen_at is not None and hubspot_at <= seen_at:
        return None
    prop = DEAL_PROPERTY.get(name)
    if prop is not None and prop_times is not None and prop in prop_times:
        at = prop_times[prop][1]
    else:
        at = hubspot_at  # no finer time known: the record's last change
    if seen_at is not None and at <= seen_at:
        return None
    return at


def history_reader(api: HubSpotApi) -> HistoryReader:
    """Reads per-property change times of deals, ≤ 50 per request."""
    props = sorted(set(DEAL_PROPERTY.values()) | {"pipeline"})

    def read(deal_ids: list[str]) -> PropertyTimes:
        out: PropertyTimes = {}
        for start in range(0, len(deal_ids), HISTORY_READ_MAX):
            chunk = deal_ids[start : start + HISTORY_READ_MAX]
            answer = api.read_with_history("deals", chunk, props, props)
            for rec in answer.get("results") or []:
                times: dict[str, tuple[str | None, datetime]] = {}
                for prop, entries in (rec.get("propertiesWithHistory") or {}).items():
                    if entries:  # newest first, as HubSpot answers
                        latest = max(entries, key=lambda e: e["timestamp"])
                        at = EPOCH + timedelta(milliseconds=iso_to_ms(latest["timestamp"]))
                        times[prop] = (latest.get("value"), at)
                out[str(rec["id"])] = times
        return out

    return read
