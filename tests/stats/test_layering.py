"""Stats reads other domains through their services: no module of stats imports another domain's models (their
grouped figures come from care.service.unit_figures and volunteers/charity/activities service.figures)."""

from __future__ import annotations

import ast
from pathlib import Path

STATS = Path(__file__).resolve().parents[2] / "src" / "jiayuan" / "stats"


def test_stats_imports_no_models_of_other_domains() -> None:
    found = []
    for path in sorted(STATS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{path.name}: {n}" for n in names if n.startswith("jiayuan.") and n.endswith(".models")]
            if isinstance(node, ast.ImportFrom) and node.module in {"jiayuan.care", "jiayuan.charity",
                                                                    "jiayuan.volunteers", "jiayuan.activities"}:
                found += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name == "models"]
    assert found == []
