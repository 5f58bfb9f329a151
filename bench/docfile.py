"""docs/performance.md has two writers: `make bench` (the benchmark table) and `make chaos` (the section between
the chaos markers). Each rewrites only its own part, so either can run without erasing the other's figures."""

from __future__ import annotations

from pathlib import Path

CHAOS_START = "<!-- chaos:start -->"
CHAOS_END = "<!-- chaos:end -->"


def marked_section(text: str) -> str | None:
    """The chaos section of `text`, markers included, or None when there is none (or it is unterminated)."""
    start = text.find(CHAOS_START)
    end = text.find(CHAOS_END, start + len(CHAOS_START)) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return text[start:end + len(CHAOS_END)]


def write_keeping_chaos(path: Path, text: str) -> None:
    """`make bench`: write `text` as the whole file, but keep the chaos section the file already had."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    section = marked_section(old)
    if section and marked_section(text) is None:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def write_chaos_section(path: Path, body: str) -> None:
    """`make chaos`: replace the chaos section (or add it at the end), leaving the rest of the file as it is."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    section = f"{CHAOS_START}\n{body.strip()}\n{CHAOS_END}"
    current = marked_section(old)
    text = old.replace(current, section, 1) if current else old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
