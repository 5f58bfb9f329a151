"""The worker beside `jiayuan serve` is started again when it is killed (SIGKILL, as `make chaos` does), and not
when it stops because it was asked to."""

from __future__ import annotations

import os
import signal
import sys
import time

from jiayuan.kit.supervise import Supervised

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _until(condition, seconds: float = 20) -> None:  # noqa: ANN001
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_killed_child_is_started_again_and_stop_ends_it() -> None:
    said: list[str] = []
    child = Supervised(SLEEPER, name="worker", say=said.append)
    child.start()
    try:
        _until(lambda: child.pid is not None)
        first = child.pid
        os.kill(first, signal.SIGKILL)
        _until(lambda: child.pid is not None and child.pid != first)
        assert child.starts == 2
        assert said == [f"the worker (pid {first}) stopped with signal SIGKILL; starting it again in 1 s"]
        second = child.pid
    finally:
        child.stop(timeout=5)
    _until(lambda: _gone(second), 5)
    time.sleep(1.5)  # past the restart delay: nothing was started after stop()
    assert child.starts == 2 and child.pid is None


def test_a_child_that_exits_cleanly_is_not_started_again() -> None:
    child = Supervised([sys.executable, "-c", "pass"], name="worker", say=lambda _: None)
    child.start()
    child._thread.join(20)
    assert not child._thread.is_alive() and child.starts == 1
