"""Render deploy/k8s overlays offline, the way ``kubectl kustomize`` does, for the
subset of kustomize those overlays use (no binary, no network in the test-suite).

Supported kustomization fields: ``resources`` (files and directories), ``namespace``,
``labels`` (``pairs``; ``includeSelectors``/``includeTemplates``), ``images``
(``newName``/``newTag``/``digest``) and ``patches`` given as strategic-merge files
(``path``; the patch names its target by kind and metadata.name). Anything else is an
error, so a manifest change that needs more of kustomize fails the test instead of being
rendered wrongly.

Strategic merge as kustomize applies it to the fields these patches touch: mappings
merge key by key; lists of objects that all have a ``name`` (containers, env, volumes,
ports) merge by name; any other list is replaced.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "images",
                    "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "IngressClass", "CustomResourceDefinition",
                  "PriorityClass"}
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


class KustomizeError(ValueError):
    pass


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and patch
            and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])):
        out = [copy.deepcopy(i) for i in base]
        index = {item["name"]: n for n, item in enumerate(out)}
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = _merge(out[index[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = doc
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def image_name(ref: str) -> tuple[str, str | None]:
    """``registry/repo:tag`` → (``registry/repo``, ``tag``); a digest counts as no tag."""
    ref = ref.split("@")[0]
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
        return name, tag
    return ref, None


def _set_images(docs: list[dict[str, Any]], images: list[dict[str, Any]]) -> None:
    for doc in docs:
        pod = _dig(doc, POD_TEMPLATE_PATHS.get(doc.get("kind"), ("-",)))
        if pod is None:
            continue
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            name, tag = image_name(container["image"])
            for image in images:
                if image["name"] != name:
                    continue
                new = image.get("newName", name)
                container["image"] = (f"{new}@{image['digest']}" if image.get("digest")
                                      else f"{new}:{image.get('newTag') or tag or 'latest'}")


def _set_labels(docs: list[dict[str, Any]], groups: list[dict[str, Any]]) -> None:
    for group in groups:
        unknown = set(group) - {"pairs", "includeSelectors", "includeTemplates"}
        if unknown:
            raise KustomizeError(f"labels fields not supported here: {sorted(unknown)}")
        pairs = group.get("pairs") or {}
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
            template = _dig(doc, ("spec", "template", "metadata"))
            if group.get("includeSelectors"):
                selector = _dig(doc, ("spec", "selector"))
                if selector is not None:
                    (selector.setdefault("matchLabels", {}) if doc["kind"] != "Service"
                     else selector).update(pairs)
            if (group.get("includeSelectors") or group.get("includeTemplates")) and template:
                template.setdefault("labels", {}).update(pairs)


def build(directory: Path) -> list[dict[str, Any]]:
    """The resources of the kustomization in ``directory``, transformed."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - SUPPORTED_FIELDS
    if unknown:
        raise KustomizeError(f"{directory}: kustomization fields not supported: {unknown}")
    docs: list[dict[str, Any]] = []
    for entry in spec.get("resources") or []:
        path = (directory / entry).resolve()
        docs.extend(build(path) if path.is_dir() else load_documents(path))
    for entry in spec.get("patches") or []:
        if set(entry) != {"path"}:
            raise KustomizeError(f"{directory}: only file patches are supported: {entry}")
        for patch in load_documents(directory / entry["path"]):
            targets = [n for n, d in enumerate(docs) if d["kind"] == patch["kind"]
                       and d["metadata"]["name"] == patch["metadata"]["name"]]
            if len(targets) != 1:
                raise KustomizeError(f"{entry['path']}: {len(targets)} targets for "
                                     f"{patch['kind']}/{patch['metadata']['name']}")
            docs[targets[0]] = _merge(docs[targets[0]], patch)
    _set_images(docs, spec.get("images") or [])
    _set_labels(docs, spec.get("labels") or [])
    if spec.get("namespace"):
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs
