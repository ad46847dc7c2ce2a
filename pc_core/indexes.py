"""Moved to ``pc_core.store.indexes``; this re-export stays until every caller has
moved (the coordinator removes it)."""

from pc_core.store.indexes import INDEXES, ensure_indexes  # noqa: F401
