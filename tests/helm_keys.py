"""Checks Helm values against a documented key tree (deploy/dagster-chart-keys.yaml; its
notation is described there), offline: unknown keys, wrong types, and Kubernetes objects
(resources, security contexts, probes, env sources) against the Kubernetes OpenAPI
definitions bundled with kubernetes-validate."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import importlib_resources
import jsonschema

K8S_VERSION = "1.31.0"


@lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    path = importlib_resources.files("kubernetes_validate").joinpath(
        f"kubernetes-json-schema/v{K8S_VERSION}-local-strict/_definitions.json")
    return json.loads(path.read_text(encoding="utf-8"))


def k8s_errors(value: Any, definition: str, where: str) -> list[str]:
    schema = {"$defs": _definitions()["$defs"], "$ref": f"#/$defs/{definition}"}
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{where}: {e.message}" for e in validator.iter_errors(value)]


def _leaf_errors(value: Any, kind: str, where: str) -> list[str]:
    if kind == "any":
        return [] if isinstance(value, dict) else [f"{where}: expected a mapping"]
    if kind == "str":
        return [] if isinstance(value, str) else [f"{where}: expected a string"]
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected an integer"]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{where}: expected true/false"]
    if kind == "list[str]":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return [] if ok else [f"{where}: expected a list of strings"]
    if kind == "map":
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return [] if ok else [f"{where}: expected a string → string mapping"]
    if kind.startswith("enum:"):
        allowed = kind[len("enum:"):].split("|")
        return [] if value in allowed else [f"{where}: {value!r} not one of {allowed}"]
    if kind.startswith("k8s:"):
        return k8s_errors(value, kind[len("k8s:"):], where)
    if kind.startswith("k8s-list:"):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [e for n, item in enumerate(value)
                for e in k8s_errors(item, kind[len("k8s-list:"):], f"{where}[{n}]")]
    if kind == "probe":
        if not isinstance(value, dict):
            return [f"{where}: expected a probe"]
        probe = {k: v for k, v in value.items() if k != "enabled"}
        errors = k8s_errors(probe, "io.k8s.api.core.v1.Probe", where)
        if "enabled" in value and not isinstance(value["enabled"], bool):
            errors.append(f"{where}.enabled: expected true/false")
        return errors
    if kind == "env":
        if isinstance(value, dict):
            return _leaf_errors(value, "map", where)
        return _leaf_errors(value, "k8s-list:io.k8s.api.core.v1.EnvVar", where)
    if kind == "unexpanded":
        return [f"{where}: keys under this documented section are not transcribed in "
                "deploy/dagster-chart-keys.yaml; add them from the chart's schema first"]
    raise ValueError(f"unknown type {kind!r} in the key tree at {where}")


def value_errors(value: Any, tree: Any, where: str = "") -> list[str]:
    """Every way ``value`` departs from ``tree`` (empty: it names only documented keys,
    each with a value of the documented type)."""
    if isinstance(tree, str):
        return _leaf_errors(value, tree, where or "<root>")
    if isinstance(tree, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [e for n, item in enumerate(value)
                for e in value_errors(item, tree[0], f"{where}[{n}]")]
    if set(tree) == {"oneOf"}:  # a string, or the section under oneOf
        return [] if isinstance(value, str) else value_errors(value, tree["oneOf"], where)
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping"]
    errors: list[str] = []
    for key, item in value.items():
        path = f"{where}.{key}" if where else key
        if key not in tree:
            errors.append(f"{path}: not a key the chart documents")
        else:
            errors.extend(value_errors(item, tree[key], path))
    return errors
