"""The Dagster code location loaded by ``dagster dev -w workspace.yaml``.

Dagster by feature (as dagster-open-platform files it): each subpackage of
``pc_pipelines`` is one feature holding its assets, checks, jobs, schedules and
sensors, and exposes its own ``defs``. They are found by scanning the package, not
listed here, and merged with the shared resources (``resources.py``); ``lib`` holds
plumbing, not definitions.
"""

from __future__ import annotations

import importlib
import pkgutil

from dagster import Definitions

import pc_pipelines
from pc_pipelines.resources import default_resources

NOT_FEATURES = frozenset({"lib"})


def feature_modules() -> list[str]:
    """Every feature subpackage of ``pc_pipelines``, by name."""
    return sorted(m.name for m in pkgutil.iter_modules(pc_pipelines.__path__)
                  if m.ispkg and m.name not in NOT_FEATURES)


def feature_defs() -> list[Definitions]:
    return [importlib.import_module(f"pc_pipelines.{name}").defs for name in feature_modules()]


defs = Definitions.merge(*feature_defs(), Definitions(resources=default_resources()))
