"""The shape of the source, read with ast (docs/architecture.md): imports only run downward — no circle between
files, no two domains importing each other, the kit and accounts free of the domains above them, no domain
importing another's pages —; role sets and unit-code ranges have one home each; every domain has the same files."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "jiayuan"
# Domains, bottom to top: a domain may import the kit and the domains before it, never one after it.
DOMAINS = ("accounts", "units", "notify", "registry", "cases", "services", "volunteers", "care", "charity",
           "activities", "stats")
# Above every domain: what a person sees first, and the entry points that wire the domains together.
FACE = ("face", "app", "cli", "hooks", "demo", "backup", "keys", "models", "reference", "__main__")
# Below every domain: the kit, configuration and the web plumbing every domain's routes use.
BASE = ("kit", "config", "web", "page_kit", "deps")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts}


def _resolve(name: str) -> str | None:
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


@cache
def tree(module: str) -> ast.Module:
    return ast.parse(modules()[module].read_text(encoding="utf-8"))


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """The modules of the package that `module` imports, anywhere in it (an import inside a function is a tie
    all the same), with the line."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := _resolve(alias.name)) and target != module:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules() else _resolve(base)
                if target and target != module:
                    yield target, node.lineno


@cache
def graph() -> dict[str, frozenset[str]]:
    return {m: frozenset(t for t, _ in imports_of(m)) for m in modules()}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def circles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_walker_sees_circles_and_relative_imports() -> None:
    assert circles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}) == [
        ["a", "b", "c"]]
    assert circles({"a": frozenset({"b"}), "b": frozenset()}) == []
    # The walker itself resolves what the source imports (a check that found nothing could not fail).
    assert "jiayuan.kit.errors" in graph()["jiayuan.kit.scope"] or "jiayuan.kit.errors" in graph()["jiayuan.kit.text"]
    assert "jiayuan.accounts.service" in graph()["jiayuan.deps"]


def test_no_import_circle_between_files() -> None:
    assert circles(graph()) == [], "files that import each other, directly or round a circle"


def test_every_module_belongs_to_a_layer() -> None:
    assert {top(m) for m in modules()} - set(DOMAINS) - set(FACE) - set(BASE) - {""} == set(), (
        "a new top-level package or module: put it in a layer of this test and of docs/architecture.md")


def test_no_two_domains_import_each_other() -> None:
    ties = {(top(m), top(t)) for m, targets in graph().items() for t in targets if top(m) != top(t)}
    both = sorted((a, b) for a, b in ties if (b, a) in ties and a < b and a in DOMAINS and b in DOMAINS)
    assert both == [], "domains tied both ways"


def test_imports_run_downward() -> None:
    order = {name: i for i, name in enumerate(DOMAINS)}
    wrong = []
    for module, targets in graph().items():
        here = top(module)
        for target in targets:
            there = top(target)
            if here == there:
                continue
            if here in BASE and there not in BASE and not (here in ("page_kit", "deps") and there == "accounts"):
                wrong.append(f"{module} → {target} (the kit and the web plumbing know no domain)")
            elif here in DOMAINS and there in FACE:
                wrong.append(f"{module} → {target} (a domain never imports the face or an entry point)")
            elif here in DOMAINS and there in DOMAINS and order[there] > order[here]:
                wrong.append(f"{module} → {target} ({there} lies above {here})")
    assert wrong == []


def test_no_domain_imports_another_domains_pages() -> None:
    wrong = [f"{m} → {t}" for m, targets in graph().items() for t in targets
             if top(m) != top(t) and top(t) in DOMAINS and t.rsplit(".", 1)[-1].endswith("pages")
             and top(m) not in FACE]
    assert wrong == []


def _role_sets(tree: ast.AST) -> Iterator[int]:
    """Lines holding a set of two or more roles written out (`{Role.a, Role.b}`, `frozenset({...})`,
    `require_role(Role.a, Role.b)`)."""
    for node in ast.walk(tree):
        elements = node.elts if isinstance(node, (ast.Set, ast.Tuple, ast.List)) else (
            node.args if isinstance(node, ast.Call) else [])
        roles = [e for e in elements if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name)
                 and e.value.id == "Role"]
        if len(roles) >= 2:
            yield node.lineno


def test_role_sets_are_defined_once_in_accounts_roles() -> None:
    found = [f"{module}:{line}" for module in modules() if module != "jiayuan.accounts.roles"
             for line in _role_sets(tree(module))]
    assert found == [], "a role set written out: name it once in accounts/roles.py"
    templates = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "templates").rglob("*.html")
                 if "principal.role in (" in p.read_text(encoding="utf-8")]
    assert templates == [], "a role list in a template: give the page a flag computed from accounts/roles.py"


def test_unit_code_ranges_are_written_once_in_the_scope_kit() -> None:
    found = []
    for module in modules():
        if module == "jiayuan.kit.scope":
            continue
        for node in ast.walk(tree(module)):
            if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.right, ast.Constant)
                    and node.right.value == ":"):
                found.append(f"{module}:{node.lineno}")
    assert found == [], "a unit code range written by hand: use kit.scope.under()"


@pytest.mark.parametrize("domain", [d for d in DOMAINS if d != "stats"])
def test_every_domain_has_the_standard_files(domain: str) -> None:
    package = PACKAGE / domain
    names = {p.name for p in package.iterdir()}
    assert "service.py" in names, f"{domain}: the use cases other domains call"
    if {"api.py", "pages.py"} & names:
        assert "policy.py" in names or domain == "accounts", f"{domain}: who may see and do what"
    flat = [n for n in names if n.endswith(("_api.py", "_pages.py", "_schemas.py"))]
    assert flat == [], f"{domain}: nest a sub-domain with its own api.py/pages.py/schemas.py instead of {flat}"


def test_no_template_has_an_inline_event_handler() -> None:
    """The Content-Security-Policy allows no inline script: an `onclick=` is a dead button (static/app.js handles
    `data-autosubmit` and `data-print`; a domain's script file the rest)."""
    handler = re.compile(r"\son[a-z]+\s*=\s*[\"']")
    found = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "templates").rglob("*.html")
             if handler.search(p.read_text(encoding="utf-8"))]
    assert found == []


PAGE_MODULES = ("pages", "workbench", "desk", "app")


def test_no_page_reads_the_english_text_of_an_error() -> None:
    """Pages word an error by its (field, reason) through page_kit.explain; `exc.message` is English for the API
    and the logs. (A call such as an import row's `e.message(_)` translates by reason and is allowed.)"""
    found = []
    for module in modules():
        if module.rsplit(".", 1)[-1] not in PAGE_MODULES:
            continue
        calls = {id(node.func) for node in ast.walk(tree(module)) if isinstance(node, ast.Call)}
        found += [f"{module}:{node.lineno}" for node in ast.walk(tree(module))
                  if isinstance(node, ast.Attribute) and node.attr == "message" and id(node) not in calls]
    assert found == []


# What may be imported from openpyxl outside kit/excel.py: reading a workbook only.
OPENPYXL_READING = {"load_workbook"}


def test_only_the_kit_writes_spreadsheets() -> None:
    """Every export goes through kit/excel.py, whose writer writes text that looks like a formula (=, +, -, @, …)
    as text: a module that built a workbook with openpyxl itself, or wrote CSV by hand, would not (the case queue
    export did so, and a description typed as =HYPERLINK(…) opened as a live formula)."""
    found = []
    for module in modules():
        if module == "jiayuan.kit.excel":
            continue
        for node in ast.walk(tree(module)):
            if isinstance(node, ast.Import):
                found += [f"{module}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.split(".")[0] == "openpyxl"]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "openpyxl":
                found += [f"{module}:{node.lineno} {node.module}.{a.name}" for a in node.names
                          if node.module != "openpyxl" or a.name not in OPENPYXL_READING]
            elif isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter") and isinstance(
                    node.value, ast.Name) and node.value.id == "csv":
                found.append(f"{module}:{node.lineno} csv.{node.attr}")
    assert found == [], "write spreadsheets with kit.excel (write_list, write_book), which neutralises formulas"
