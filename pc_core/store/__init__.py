"""The storage layer: the one place that knows how documents are written.

Production runs on MongoDB; a fresh machine and the tests run on ``nx-27017``, a
MongoDB wire-protocol server over SQLite, through the same ``pymongo`` client. The
embedded server stores a top-level datetime written by ``$set`` as a string, a
``$push`` of a sub-document as JSON text and a ``$set`` bool as 0/1; it serves no
date range inside an aggregation, scans for ``find(...).sort(...)`` and for
``count_documents``. So every module of this package keeps to what both stores do
the same, and the domain modules above say *what* changes, never how:

- ``documents``: whole-document writes under a revision check (``rev``);
- ``states``: a document's state moved by compare-and-set (``transition``);
- ``keys``: the one time key and the one month key (fixed-width strings that sort
  and range the same on both stores), and the ``sort_key`` lists page on;
- ``pagination``: keyset pages over ``sort_key`` with opaque cursors;
- ``counts``: counts per value with an aggregation, never ``count_documents``;
- ``queues``: pending-work queues and inboxes (equality flags, due keys, claims);
- ``indexes``: every collection's indexes, declared once, created at start-up.

docs/storage.md has the measured quirks and the rules that follow from them.
"""

from __future__ import annotations

from pc_core.store.documents import Doc, replace_if_unchanged, update_with_retry
from pc_core.store.keys import month_key, sort_key, time_key
from pc_core.store.states import transition, transition_by_id

__all__ = [
    "Doc",
    "month_key",
    "replace_if_unchanged",
    "sort_key",
    "time_key",
    "transition",
    "transition_by_id",
    "update_with_retry",
]
