"""The log scan of tests/logscan.py can fail: a record carrying a fake ID number or mobile is caught, masked in the
report and named by its logger; look-alikes are not."""

from __future__ import annotations

import logging

from jiayuan.kit.identity import id_check_char
from tests.logscan import PersonalDataScan, find_personal

FIRST17 = "36080219880229123"
FAKE_ID = FIRST17 + id_check_char(FIRST17)
WRONG_CHECK = FIRST17 + ("0" if id_check_char(FIRST17) != "0" else "1")


def _scanned(*records: tuple[str, tuple]) -> PersonalDataScan:
    """Log through a scan of its own (not the session's, which would fail the run) on a logger that stops there."""
    scan = PersonalDataScan()
    log = logging.getLogger("jiayuan.test_logscan")
    log.propagate, level = False, log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(scan)
    try:
        for msg, args in records:
            log.info(msg, *args)
    finally:
        log.removeHandler(scan)
        log.propagate = True
        log.setLevel(level)
    return scan


def test_a_logged_id_number_and_phone_are_caught_and_masked() -> None:
    scan = _scanned(("registered %s with phone %s", (FAKE_ID, "13912345678")))
    assert [(h.source, h.kind) for h in scan.hits] == [("jiayuan.test_logscan", "ID number"),
                                                       ("jiayuan.test_logscan", "mobile")]
    report = scan.report()
    assert FAKE_ID not in report and "13912345678" not in report
    assert FAKE_ID[:6] + "********" + FAKE_ID[-4:] in report and "139****5678" in report


def test_a_traceback_is_scanned_too() -> None:
    scan = PersonalDataScan()
    try:
        raise ValueError(f"duplicate key (id_number)=({FAKE_ID.lower()})")
    except ValueError:
        record = logging.LogRecord("jiayuan.x", logging.ERROR, __file__, 1, "insert failed", (), exc_info=True)
        import sys

        record.exc_info = sys.exc_info()
    scan.emit(record)
    assert [h.kind for h in scan.hits] == ["ID number"]


def test_look_alikes_are_not_flagged() -> None:
    clean = (f"number {WRONG_CHECK}; case 202612010001; order SO2026120100012; uuid 01a2311e-db93-7000-ad79-"
             "013912345678; amount 139123456789; token a13912345678b; masked 139****5678 and 360802********1234")
    assert find_personal(clean) == []
    assert _scanned(("%s", (clean,))).hits == []
