"""The registry sits below cases, services, care and the rest: none of its files imports a domain above it (lazy
imports inside functions count too), and other domains reach it through registry.service, registry.policy and
registry.present rather than its sub-packages' pages."""

from __future__ import annotations

import ast
from pathlib import Path

import jiayuan

SRC = Path(jiayuan.__file__).parent
BELOW = ("jiayuan.kit", "jiayuan.accounts", "jiayuan.units", "jiayuan.notify", "jiayuan.registry",
         "jiayuan.deps", "jiayuan.web", "jiayuan.page_kit", "jiayuan.config")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n.startswith("jiayuan")]


def test_the_registry_imports_nothing_from_the_domains_above_it() -> None:
    upward = {f"{path.relative_to(SRC)}: {name}" for path in (SRC / "registry").rglob("*.py")
              for name in _imports(path) if not name.startswith(BELOW)}
    assert upward == set()


def test_other_domains_never_import_the_registrys_pages() -> None:
    pages = {f"{path.relative_to(SRC)}: {name}" for path in SRC.rglob("*.py")
             if path.parts[len(SRC.parts)] not in ("registry", "app.py")
             for name in _imports(path) if name.startswith("jiayuan.registry") and name.endswith("pages")}
    assert pages == set()
