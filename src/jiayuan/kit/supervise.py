"""A child process kept running beside this one (the worker beside `jiayuan serve`): started again whenever it
dies, until this process tells it to stop."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Supervised:
    """Run `args` in a thread of this process's own; when it exits with anything but 0 (killed, crashed), start it
    again after 1 s, doubling up to `max_delay` while it keeps dying within `healthy_after` seconds.

    Exit code 0 means it was asked to stop (Ctrl+C reaches the whole process group; the worker then finishes
    and exits 0), so it is not started again."""

    def __init__(self, args: Sequence[str], *, name: str, say: Callable[[str], object] = print,
                 max_delay: float = 60.0, healthy_after: float = 60.0) -> None:
        self.args, self.name, self.say = list(args), name, say
        self.max_delay, self.healthy_after = max_delay, healthy_after
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"supervise-{name}", daemon=True)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        delay = 0.5
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                proc = self._proc = subprocess.Popen(self.args)
                self.starts += 1
            began = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set() or code == 0:
                return
            delay = 1.0 if time.monotonic() - began >= self.healthy_after else min(delay * 2, self.max_delay)
            self.say(f"the {self.name} (pid {proc.pid}) stopped with {describe_exit(code)}; "
                     f"starting it again in {delay:.0f} s")
            if self._stopping.wait(delay):
                return

    def stop(self, timeout: float = 10) -> None:
        """Ask the child to finish (SIGINT), kill it after `timeout` seconds, and start no other."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread.is_alive():
            self._thread.join(timeout)
