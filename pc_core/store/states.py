"""A document's state (``status`` unless told otherwise) moved by compare-and-set.

A state change is the write that decides races: a lead is reserved once, a
purchase completed once, however many requests, redeliveries or runs try. Each
change is one whole-document replacement filtered on ``_id``, the revision the
document was read at and the state it leaves, so of two concurrent writers exactly
one wins and the other sees ``None`` (or, by id, the state the winner left).

Domain modules say what changes (``transition(purchases, doc, from_=PENDING,
to=FAILED, changes={...})``); how it is written is this module's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pymongo.collection import Collection

from pc_core.errors import Conflict, NotFound
from pc_core.store.documents import Doc, replace_if_unchanged

Changes = Doc | Callable[[Doc], Doc | None] | None


def _states(from_: str | Iterable[str]) -> frozenset[Any]:
    return frozenset((from_,) if isinstance(from_, str) else from_)


def _fields(changes: Changes, current: Doc) -> Doc | None:
    if callable(changes):
        return changes(current)
    return dict(changes or {})


def transition(collection: Collection, current: Doc, *, from_: str | Iterable[str],
               to: str, changes: Changes = None, field: str = "status") -> Doc | None:
    """Move ``current`` (as the caller read it) from one of ``from_`` to ``to``, with
    ``changes``, in one compare-and-set.

    Returns the document as written, or ``None`` (nothing written) when its state is
    not one of ``from_``, it changed since it was read, or a ``changes`` callable
    returned ``None``. Never retried: the caller read the document to decide, so a
    concurrent change means deciding again.
    """
    state = current.get(field)
    if state not in _states(from_):
        return None
    fields = _fields(changes, current)
    if fields is None:
        return None
    return replace_if_unchanged(collection, current, {**fields, field: to},
                                expect={field: state})


def transition_by_id(collection: Collection, doc_id: str, *, from_: str | Iterable[str],
                     to: str, changes: Changes = None, what: str, field: str = "status",
                     attempts: int = 5) -> Doc | None:
    """Read the document and move it from one of ``from_`` to ``to``, retried on a
    concurrent change: what idempotent handlers (a redelivered event) call.

    Returns the document in state ``to``: written now, or as it was when it already
    was in ``to`` (or ``changes``, a callable of the current document, returned
    ``None``: nothing to change). ``None`` when it is in another state. ``changes``
    may raise a domain error to refuse. ``NotFound`` if there is no such document.
    """
    allowed = _states(from_)
    for _ in range(attempts):
        current = collection.find_one({"_id": doc_id})
        if current is None:
            raise NotFound(f"{what} not found")
        state = current.get(field)
        if state not in allowed:
            return current if state == to else None
        fields = _fields(changes, current)
        if fields is None:
            return current
        written = replace_if_unchanged(collection, current, {**fields, field: to},
                                       expect={field: state})
        if written is not None:
            return written
    raise Conflict(f"the {what} is being changed by others; try again")
