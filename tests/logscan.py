"""The log scan: every log record written during the test run (and the stderr of the `jiayuan` subprocesses the CLI
tests start) is searched for citizen ID numbers and mainland mobile numbers; at the end of the session a hit fails the
run, naming the logger and showing a masked excerpt. conftest.py installs the handler at session start.

An ID number is 18 characters whose last is the GB 11643 check character of the first 17 (a random 18-digit number
matches one time in eleven, so test data that merely looks like one is not flagged); a mobile is 1[3-9] and nine more
digits, as a whole number (no digit or letter on either side: not a slice of a longer number, a hex id or a UUID)."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from jiayuan.kit.identity import id_check_char

_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(1[3-9][0-9]{9})(?![0-9A-Za-z])")
_AROUND = 60  # characters of context either side of a hit in the report
_KEEP = 50  # hits kept for the report


def _mask(kind: str, value: str) -> str:
    return value[:6] + "*" * 8 + value[-4:] if kind == "ID number" else value[:3] + "****" + value[-4:]


def find_personal(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every ID number with a valid check character and every whole mobile number."""
    hits = [("ID number", m.start(1), m.end(1)) for m in _ID.finditer(text)
            if id_check_char(m.group(1)[:17]) == m.group(1)[17].upper()]
    hits += [("mobile", m.start(1), m.end(1)) for m in _MOBILE.finditer(text)]
    return sorted(hits, key=lambda h: h[1])


def masked_excerpt(text: str, start: int, end: int) -> str:
    """The text around [start, end) with every ID number and mobile in it masked."""
    lo, hi = max(0, start - _AROUND), min(len(text), end + _AROUND)
    piece, out, pos = text[lo:hi], [], 0
    for kind, s, e in find_personal(piece):
        out += [piece[pos:s], _mask(kind, piece[s:e])]
        pos = e
    out.append(piece[pos:])
    return ("…" if lo else "") + "".join(out).replace("\n", "⏎") + ("…" if hi < len(text) else "")


@dataclass(frozen=True)
class Hit:
    source: str  # the logger's name, or the subprocess
    kind: str
    excerpt: str  # masked

    def __str__(self) -> str:
        return f"{self.kind} in {self.source}: {self.excerpt}"


class PersonalDataScan(logging.Handler):
    """Scans each record as it is emitted (nothing is kept but the hits)."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.hits: list[Hit] = []
        self.records = 0
        self._lock_hits = threading.Lock()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)  # the message with its arguments, and any traceback
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is logging's problem, not ours
            text = str(record.msg)
        self.records += 1
        self.scan(record.name, text)

    def scan(self, source: str, text: str) -> None:
        if not text:
            return
        for kind, start, end in find_personal(text):
            with self._lock_hits:
                if len(self.hits) < _KEEP:
                    self.hits.append(Hit(source, kind, masked_excerpt(text, start, end)))

    def report(self) -> str:
        first = f", the first {_KEEP}" if len(self.hits) >= _KEEP else ""
        lines = [(f"personal data in the logs of this test run ({len(self.hits)} hit(s){first}): a log must never "
                  "hold an ID number or a phone; mask it (kit.identity) or leave it out")]
        lines += [f"  {h}" for h in self.hits]
        return "\n".join(lines)


SCAN = PersonalDataScan()


def install() -> None:
    """Catch every record: ours from DEBUG, everyone else's from INFO (what a server logs). SQLAlchemy's INFO is
    the echo of every statement, which no deployment turns on; its warnings still come through."""
    root = logging.getLogger()
    if SCAN not in root.handlers:
        root.addHandler(SCAN)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    logging.getLogger("jiayuan").setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # The test client's own record of each request it sends: tests that check a personal value in a URL is refused
    # put one there on purpose. The server's side of those requests is still scanned.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def scan_output(source: str, text: str | None) -> None:
    """What a subprocess wrote to stderr, where its log records go."""
    if text:
        SCAN.scan(source, text)
