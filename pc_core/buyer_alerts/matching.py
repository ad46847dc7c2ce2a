"""The saved searches a listing matches: looked up in this process's in-memory index
(``search_index``: at most 16 buckets by match key, then ``criteria.accepts``), kept
fresh by the searches' change announcements; no database query per listing."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core.buyer_alerts.search_index import index_for
from pc_core.settings import Settings

Doc = dict[str, Any]


def matching_searches(db: Database, settings: Settings, listing: Doc) -> list[Doc]:
    return index_for(db, settings).match(db, settings, listing)
