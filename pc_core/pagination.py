"""Moved to ``pc_core.store.pagination``; this re-export stays until every caller
has moved (the coordinator removes it)."""

from pc_core.store.pagination import (  # noqa: F401
    MAX_LIMIT,
    add_key_range,
    below_cursor,
    decode_cursor,
    encode_cursor,
    fetch_merged_page,
    fetch_page,
)
