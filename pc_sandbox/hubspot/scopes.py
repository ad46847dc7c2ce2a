"""Which OAuth scopes each CRM endpoint needs, and a log of the scopes calls used.

HubSpot answers 403 ``MISSING_SCOPES`` when the token lacks a scope the endpoint needs
(body: ``errors[0].context.requiredGranularScopes``). The rules here follow HubSpot's
API reference pages ("Scope requirements"):

- objects (``/crm/v3/objects/{type}`` incl. batch, search and merge): the object's
  ``crm.objects.{type}.read`` / ``.write``;
- properties (``/crm/v3/properties/{type}``): ``crm.schemas.{type}.read`` / ``.write``,
  not the object scopes;
- pipelines of deals: ``crm.objects.deals.read`` (one of the many scopes the pipelines
  reference accepts; the only one our app could hold);
- associations v4: read (or write) access to both object types;
- notes: the sandbox accepts the contact or deal scope of the same access (notes are
  engagements attached to those records; an assumption, see docs/external-apis.md).

Each requirement is a list of groups: every group must be met by holding any one of
its scopes. ``LOG`` records, per portal and route, which held scope met each group, so
a test can derive the scopes an app really needs from the calls its code makes.
"""

from __future__ import annotations

from collections import defaultdict

Group = tuple[str, ...]

#: portal id → "METHOD /route/template" → scopes that met a requirement
LOG: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

_OBJECTS = ("contacts", "deals")


def _object(otype: str, write: bool) -> list[Group]:
    access = "write" if write else "read"
    if otype in _OBJECTS:
        return [(f"crm.objects.{otype}.{access}",)]
    if otype == "notes":
        return [tuple(f"crm.objects.{t}.{access}" for t in _OBJECTS)]
    return []


def required(path: str, otype: str | None, to_type: str | None, write: bool) -> list[Group]:
    """The scope groups a request to ``path`` (a route template) needs."""
    if otype is None:
        return []
    if path.startswith("/crm/v3/properties"):
        return [(f"crm.schemas.{otype}.{'write' if write else 'read'}",)] \
            if otype in _OBJECTS else []
    if path.startswith("/crm/v3/pipelines"):
        return [(f"crm.objects.{otype}.read",)] if otype in _OBJECTS else []
    if path.startswith("/crm/v4"):
        return _object(otype, write) + (_object(to_type, write) if to_type else [])
    return _object(otype, write)


def check(portal_id: int, route: str, groups: list[Group], held: list[str]) -> list[str]:
    """The first unmet group (empty when every group is met); logs what met each."""
    have = set(held)
    for group in groups:
        met = [s for s in group if s in have]
        if not met:
            return list(group)
        LOG[portal_id][route].add(met[0])
    return []


def log_for(portal_id: int) -> dict[str, list[str]]:
    """JSON view of one portal's log."""
    return {route: sorted(found) for route, found in sorted(LOG.get(portal_id, {}).items())}


def reset() -> None:
    LOG.clear()
