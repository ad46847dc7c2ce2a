"""Identifiers. Generated ids are ObjectId strings: unique, roughly time-ordered,
and plain strings in URLs."""

from __future__ import annotations

from bson import ObjectId


def new_id() -> str:
    return str(ObjectId())
