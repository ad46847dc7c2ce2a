"""HTTP conditional requests (RFC 9110 §8.8.3, §13.1.1) over a stored document's
revision (``rev``, pc_core/store/documents.py).

A lead's ``GET`` answers ``ETag: "<rev>"``, a strong validator: every write of the
document moves its revision. An edit may send it back as ``If-Match``; the service
then writes only if the document is still at that revision (the write's own
compare-and-set), and a stale one answers 412 with the current version. Without
``If-Match`` the edit is unconditional, as it always was for API clients.
"""

from __future__ import annotations

import re

from fastapi import Response

#: One entity-tag of an ``If-Match`` list: optional weakness prefix, quoted opaque tag.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


def etag(revision: int) -> str:
    """The strong ETag of a document at ``revision``."""
    return f'"{revision}"'


def set_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag(revision)


def revisions_matching(if_match: str | None) -> frozenset[int] | None:
    """The revisions an ``If-Match`` header accepts: ``None`` when there is no
    condition (no header, or ``*``: the document exists, which the route checks).

    ``If-Match`` uses the strong comparison: a weak tag (``W/"3"``) never matches,
    nor does a tag this server did not issue; such a list yields an empty set, which
    no revision is in, so the write answers 412 (RFC 9110 §13.1.1)."""
    if if_match is None or if_match.strip() == "*":
        return None
    accepted: set[int] = set()
    position, text = 0, if_match.strip()
    while position < len(text):
        match = _ENTITY_TAG.match(text, position)
        if match is None:
            break  # unparsable: what was read so far stands, the rest matches nothing
        weak, tag = match.groups()
        if not weak and tag.isdigit():
            accepted.add(int(tag))
        position = match.end()
    return frozenset(accepted)
