"""Decoding Stripe's bracketed form encoding into nested values.

The SDK sends ``metadata[k]=v``, ``transfer_data[destination]=acct``,
``expand[0]=x`` (and other clients ``expand[]=x``), booleans as ``true``/``false``
and every number as text; handlers read typed values through the getters here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from .errors import invalid_param, missing_param

Params = dict[str, Any]

_KEY_PART = re.compile(r"\[([^\]]*)\]")
# Below these keys every sub-key is a user string, never a list index.
_FREE_FORM = {"metadata"}


def _split_key(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    return [head, *_KEY_PART.findall("[" + rest)] if rest else [head]


def _listify(value: Any, free_form: bool = False) -> Any:
    if not isinstance(value, dict):
        return value
    if not free_form and value and all(k.isdigit() or k == "" for k in value):
        items = sorted(((int(k or 0), i, v) for i, (k, v) in enumerate(value.items())))
        return [_listify(v) for _, _, v in items]
    return {k: _listify(v, k in _FREE_FORM) for k, v in value.items()}


def decode_pairs(pairs: list[tuple[str, str]]) -> Params:
    """Nest ``a[b][c]=v`` pairs; numeric or empty sub-keys become lists."""
    root: dict[str, Any] = {}
    append_counter = 0
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        last = parts[-1]
        if last == "":
            # "expand[]=a&expand[]=b": give each its own slot, in order.
            last = str(append_counter)
            append_counter += 1
        node[last] = value
    return {k: _listify(v, k in _FREE_FORM) for k, v in root.items()}


async def form_params(request: Request) -> Params:
    """FastAPI dependency: query string plus form body, decoded."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    if request.method in ("POST", "DELETE"):
        body = await request.body()
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return decode_pairs(pairs)


def get_str(params: Params, name: str, *, required: bool = False) -> str | None:
    """A string parameter; empty strings count as absent."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing_param(name)
        return None
    if not isinstance(value, str):
        raise invalid_param(name, f"Invalid string: {name}")
    return value


def get_int(params: Params, name: str, *, required: bool = False, minimum: int = 0) -> int | None:
    """An integer parameter such as an amount in cents."""
    raw = get_str(params, name, required=required)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"Invalid integer: {raw}")
    if value < minimum:
        raise invalid_param(name, f"This value must be greater than or equal to {minimum}.")
    return value


def get_bool(params: Params, name: str, default: bool = False) -> bool:
    """A boolean parameter sent as ``true``/``false``."""
    raw = get_str(params, name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise invalid_param(name, f"Invalid boolean: {raw}")


def get_dict(params: Params, name: str) -> dict[str, Any]:
    """A nested hash such as ``transfer_data``."""
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_param(name, f"Invalid hash: {name}")
    return value


def get_list(params: Params, name: str) -> list[Any]:
    """An array such as ``expand``; a single value counts as one element."""
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def merge_metadata(current: dict[str, str], params: Params) -> dict[str, str]:
    """Apply ``metadata`` the Stripe way: empty value unsets a key, ``""`` clears all."""
    if "metadata" not in params:
        return dict(current)
    raw = params["metadata"]
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_param("metadata", "Invalid hash: metadata")
    merged = dict(current)
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid_param(f"metadata[{key}]", "Metadata values must be strings.")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise invalid_param("metadata", "You can have at most 50 metadata keys.")
    return merged
