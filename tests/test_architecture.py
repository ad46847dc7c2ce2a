"""The layering rules of issue 12, checked over the source so a change that breaks
one fails here, naming the module:

- only the storage layer (``pc_core/store/``) names the embedded MongoDB server or
  builds a time or month key; the rest say what changes, never how (the dev launcher
  ``pc_dev`` starts that server, so it may name it; it builds no keys either);
- no import cycle among ``pc_core``'s modules, counting imports inside functions;
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


def test_no_import_cycle_in_pc_core() -> None:
    paths = _sources("pc_core")
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imports(p, modules, _package(p)) - {_module_name(p)}
             for p in paths}
    cycles = _cycles(graph)
    assert not cycles, "import cycles (imports inside functions count): " + "; ".join(
        " ↔ ".join(c) for c in cycles)


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
                                  "invoice.paid", "charge.refunded"}
    assert handled_types() >= set(route.HANDLED)
