"""The layering rules of issues 12 and 20, checked over the source so a change that
breaks one fails here, naming the module:

- the floor plan (docs/architecture.md "Floor plan"): ``pc_core``'s and
  ``pc_sandbox``'s packages stand on ordered floors; a package imports only from its
  own floor or the floors below, and no packages import each other in a ring (at any
  depth: ``pc_core.hubspot.pull`` ⇄ ``pc_core.hubspot.connection`` counts too);
- ``pc_core``'s ground floor holds fewer than 12 top-level modules: everything else
  lives in a package that says what it owns;
- no import of our own modules inside a function (a hidden edge the plan cannot see);

- only the storage layer (``pc_core/store/``) names the embedded MongoDB server or
  builds a time or month key; the rest say what changes, never how (the dev launcher
  ``pc_dev`` starts that server, so it may name it; it builds no keys either);
- no import cycle among ``pc_core``'s or ``pc_sandbox``'s modules, counting imports
  inside functions;
- ``pc_core`` imports nothing from the packages above it (``pc_api``,
  ``pc_pipelines``, ``pc_sandbox``, the dev launcher's ``pc_dev``);
- a purchase's and a reservation's documents are written by their owner module only;
- the Stripe endpoint dispatches to the marketplace's and billing's handlers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGES = ("pc_core", "pc_api", "pc_pipelines", "pc_sandbox", "pc_dev")
# The dev launcher (``pc run``: the embedded stores, the demo data) starts pc_api,
# pc_sandbox and the embedded server; it sits above pc_core, never inside it.
LAUNCHER = "pc_dev/"
STORE = "pc_core/store/"

EMBEDDED_SERVER = re.compile(r"nx[-_]27017")
# strftime formats of a sortable time key (sub-second, fixed width) and of a month key
# ("%Y-%m" not followed by a day); display formats such as "%Y-%m-%d %H:%M" are fine.
TIME_KEY_FORMAT = re.compile(r"%S\.%f|%Y-%m(?!-)")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _outside_store(*allowed: str) -> list[Path]:
    """Every app module except the storage layer's and those under ``allowed``."""
    return [p for p in _sources(*APP_PACKAGES) if not _rel(p).startswith((STORE, *allowed))]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (module, class and function docstrings)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _code_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal in code, f-string format specs included,
    docstrings left out."""
    skip = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip]


def test_only_the_store_names_the_embedded_server() -> None:
    found = [f"{_rel(p)}:{n}" for p in _outside_store(LAUNCHER)
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if EMBEDDED_SERVER.search(line)]
    assert not found, ("name the embedded server only in pc_core/store/ (and the launcher, "
                       "pc_dev/): " + ", ".join(found))


def test_only_the_store_builds_time_or_month_keys() -> None:
    found = [f"{_rel(p)}:{line} {text!r}" for p in _outside_store()
             for line, text in _code_strings(ast.parse(p.read_text()))
             if TIME_KEY_FORMAT.search(text)]
    assert not found, ("use pc_core.store.keys (time_key, month_key, sort_key, MONTH_FORMAT): "
                       + ", ".join(found))


def test_the_time_key_check_catches_what_it_should() -> None:
    """The check above is only as good as its pattern: a key built inline is caught,
    a date shown to a person is not."""
    def flagged(source: str) -> bool:
        return any(TIME_KEY_FORMAT.search(t) for _, t in _code_strings(ast.parse(source)))

    assert flagged('k = f"{now:%Y-%m-%dT%H:%M:%S.%fZ}|{i}"')
    assert flagged('m = f"{now:%Y-%m}"')
    assert flagged('m = now.strftime("%Y-%m")')
    assert not flagged('s = f"{start:%Y-%m-%d %H:%M} UTC"')
    assert not flagged('def f():\n    """Months look like ``%Y-%m``."""\n')


def _imports(path: Path, modules: set[str], package: str = "") -> set[str]:
    """The modules of ``modules`` that ``path`` imports, anywhere in it (inside
    functions too). ``from a import b`` counts ``a.b`` when that is a module, else
    ``a`` (a package's ``__init__``); relative imports start from ``package``."""
    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(filter(None, (resolve(a.name) for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out.update(filter(None, (resolve(f"{base}.{a.name}") for a in node.names)))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _module_graph(package: str) -> dict[str, set[str]]:
    """module → the modules of ``package`` it imports (anywhere in it)."""
    paths = _sources(package)
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules, _package(p)) - {_module_name(p)}
            for p in paths}


@pytest.mark.parametrize("package", ["pc_core", "pc_sandbox"])
def test_no_import_cycle_among_modules(package: str) -> None:
    cycles = _cycles(_module_graph(package))
    assert not cycles, "import cycles (imports inside functions count): " + "; ".join(
        " ↔ ".join(c) for c in cycles)


# The floor plan, lowest floor first (docs/architecture.md "Floor plan"). A package
# imports from its own floor or a lower one; a new package gets a floor here first.
FLOORS: dict[str, list[tuple[str, set[str]]]] = {
    "pc_core": [
        # top-level modules only: the words every floor above uses
        ("ground", {"pc_core", "pc_core.access", "pc_core.collections", "pc_core.db",
                    "pc_core.errors", "pc_core.events", "pc_core.ids", "pc_core.money",
                    "pc_core.settings", "pc_core.stages", "pc_core.timeutil"}),
        # how things are kept, recorded, protected, watched, mailed and paid
        ("platform", {"pc_core.store", "pc_core.journal", "pc_core.security",
                      "pc_core.observability", "pc_core.mail", "pc_core.payments"}),
        ("models", {"pc_core.models"}),
        ("identity", {"pc_core.identity", "pc_core.sync"}),
        ("features", {"pc_core.marketplace", "pc_core.leads", "pc_core.hubspot",
                      "pc_core.meetings", "pc_core.billing", "pc_core.reminders",
                      "pc_core.buyer_alerts", "pc_core.returns"}),
        ("reporting", {"pc_core.analytics"}),
        # the standing worker: the features' event-driven work as it arrives
        ("hot path", {"pc_core.worker"}),
        # what the owner does to a whole partner or a person's data, across features
        ("governance", {"pc_core.governance"}),
    ],
    "pc_sandbox": [
        ("ground", {"pc_sandbox"}),
        ("vendors", {"pc_sandbox.hubspot", "pc_sandbox.mailgun", "pc_sandbox.stripe_api"}),
        ("app", {"pc_sandbox.app"}),
    ],
}
MAX_TOP_LEVEL_MODULES = 11


def _room(module: str) -> str:
    """The floor-plan unit of a module: its first level under the root package."""
    return ".".join(module.split(".")[:2])


def _floor_of(package: str) -> dict[str, tuple[int, str]]:
    return {room: (i, name) for i, (name, rooms) in enumerate(FLOORS[package])
            for room in rooms}


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_every_package_has_a_floor(package: str) -> None:
    floor = _floor_of(package)
    missing = sorted({_room(m) for m in _module_graph(package)} - set(floor))
    assert not missing, (f"not on the floor plan (add each to FLOORS in tests/test_architecture.py "
                         f"and to docs/architecture.md): {', '.join(missing)}")


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_no_import_from_a_higher_floor(package: str) -> None:
    floor = _floor_of(package)
    found = [f"{module} ({floor[_room(module)][1]}) → {target} ({floor[_room(target)][1]})"
             for module, targets in sorted(_module_graph(package).items())
             for target in sorted(targets)
             if _room(module) in floor and _room(target) in floor
             and floor[_room(target)][0] > floor[_room(module)][0]]
    assert not found, "imports from a higher floor: " + "; ".join(found)


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """package → the packages it imports from, at every depth (a module counts for
    the package it sits in; a package's ``__init__`` for the package itself)."""
    def home(module: str) -> str:
        return module if module in packages else module.rpartition(".")[0]

    packages = {m for m in graph if any(o.startswith(m + ".") for o in graph)} | {
        m.rpartition(".")[0] for m in graph if "." in m}
    out: dict[str, set[str]] = {p: set() for p in packages}
    for module, targets in graph.items():
        out.setdefault(home(module), set()).update(
            home(t) for t in targets if home(t) != home(module))
    return out


def _package_cycle_report(graph: dict[str, set[str]]) -> list[str]:
    """Each package ring with the module imports that close it."""
    pkg_graph = _package_graph(graph)
    reports = []
    for ring in _cycles(pkg_graph):
        members = set(ring)

        def home(module: str) -> str:
            return module if module in pkg_graph else module.rpartition(".")[0]

        edges = sorted(f"{m} → {t}" for m, ts in graph.items() for t in ts
                       if home(m) in members and home(t) in members and home(m) != home(t))
        reports.append(" ⇄ ".join(ring) + " (" + ", ".join(edges) + ")")
    return reports


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_no_package_cycle(package: str) -> None:
    reports = _package_cycle_report(_module_graph(package))
    assert not reports, "package cycles: " + "; ".join(reports)


def test_pc_core_ground_floor_stays_small() -> None:
    top = sorted(p.name for p in (ROOT / "pc_core").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, (
        f"pc_core has {len(top)} top-level modules (at most {MAX_TOP_LEVEL_MODULES}): "
        f"{', '.join(top)}; put the new one in the package it belongs to")


def _function_level_imports(path: Path, ours: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, module) of each import of our own modules inside a function."""
    found = []
    for fn in ast.walk(ast.parse(path.read_text())):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                found += [(node.lineno, a.name) for a in node.names
                          if a.name.split(".")[0] in ours]
            elif isinstance(node, ast.ImportFrom) and (
                    node.level or (node.module or "").split(".")[0] in ours):
                found.append((node.lineno, "." * node.level + (node.module or "")))
    return sorted(set(found))


def test_no_function_level_imports_of_our_modules() -> None:
    found = [f"{_rel(p)}:{line} imports {module}" for p in _sources(*APP_PACKAGES)
             for line, module in _function_level_imports(p, APP_PACKAGES)]
    assert not found, ("import our own modules at the top of the module (an import "
                       "inside a function hides an edge of the floor plan): "
                       + "; ".join(found))


def test_the_floor_checks_name_the_offender(tmp_path: Path) -> None:
    """The checks above are only as good as what they see: a ring between two
    packages is reported with the imports that close it, a function-level import of
    ours (absolute or relative) is caught, a third-party one is not."""
    graph = {"pc_x.a.m": {"pc_x.b.n"}, "pc_x.b.n": {"pc_x.a.k"}, "pc_x.a.k": set(),
             "pc_x.c": {"pc_x.a.m"}}
    [report] = _package_cycle_report(graph)
    assert report.startswith("pc_x.a ⇄ pc_x.b") and "pc_x.b.n → pc_x.a.k" in report
    source = tmp_path / "m.py"
    source.write_text("import json\n\ndef f():\n    import yaml\n    from pc_core.ids import"
                      " new_id\n    from . import state\n    return json, yaml, new_id, state\n")
    assert _function_level_imports(source, APP_PACKAGES) == [(5, "pc_core.ids"), (6, ".")]


def test_the_cycle_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from pc_core.store import keys, time_key\n")
    assert _imports(source, {"pc_core.store", "pc_core.store.keys"}) == {
        "pc_core.store", "pc_core.store.keys"}


@pytest.mark.parametrize("upper", ["pc_api", "pc_pipelines", "pc_sandbox", "pc_dev"])
def test_pc_core_imports_nothing_above_it(upper: str) -> None:
    modules = {_module_name(p) for p in _sources(upper)} | {upper}
    found = [f"{_rel(p)} → {', '.join(sorted(hits))}" for p in _sources("pc_core")
             if (hits := _imports(p, modules, _package(p)))]
    assert not found, f"pc_core must not import {upper}: " + "; ".join(found)


# Writes to a document ({collection}: owner module). Reads are anyone's.
OWNERS = {"PURCHASES": "pc_core/marketplace/purchases.py",
          "RESERVATIONS": "pc_core/marketplace/reservations.py"}
WRITE = r"(update_with_retry|replace_if_unchanged|transition(_by_id)?|claim)\(\s*db\[c\.{name}\]" \
        r"|db\[c\.{name}\]\.(insert|update|replace|delete|bulk_write|find_one_and)"


@pytest.mark.parametrize("collection", sorted(OWNERS))
def test_one_module_writes_each_status(collection: str) -> None:
    pattern = re.compile(WRITE.format(name=collection))
    writers = sorted(_rel(p) for p in _sources("pc_core", "pc_api", "pc_pipelines")
                     if pattern.search(p.read_text()))
    assert writers == [OWNERS[collection]], (
        f"{collection.lower()} are written only by {OWNERS[collection]} (call its "
        f"functions): also written in {[w for w in writers if w != OWNERS[collection]]}")


def test_the_stripe_endpoint_reaches_marketplace_and_billing() -> None:
    import pc_api.routes.stripe_webhook as route
    from pc_core.payments.events import handled_types

    assert set(route.HANDLED) == {"payment_intent.succeeded", "payment_intent.payment_failed",
                                  "invoice.paid", "charge.refunded", "account.updated"}
    assert handled_types() >= set(route.HANDLED)
