"""Moved to ``pc_core.store.documents``; this re-export stays until every caller
has moved (the coordinator removes it)."""

from pc_core.store.documents import Doc, replace_if_unchanged, update_with_retry  # noqa: F401
