"""The worker runs the not-visited sweep every hour; the registry's move hook is registered once at start-up of the
app and of every command, the worker included (jiayuan.hooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from huey import MemoryHuey
from typer.testing import CliRunner

from jiayuan.care.profiles import rehome
from jiayuan.registry.service import MOVE_HOOKS


def test_the_worker_command_registers_the_hourly_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    import huey.consumer

    from jiayuan import cli
    from jiayuan.kit import jobs

    queue = MemoryHuey("care-worker")

    class Consumer:
        def __init__(self, huey: Any, **kw: Any) -> None:
            self.huey = huey

        def run(self) -> None:
            pass

    monkeypatch.setattr(cli, "database", lambda **kw: type("Db", (), {"dispose": lambda self: None})())
    monkeypatch.setattr(jobs, "queue", lambda: queue)
    monkeypatch.setattr(huey.consumer, "Consumer", Consumer)
    result = CliRunner().invoke(cli.app, ["worker"])
    assert result.exit_code == 0, result.output
    assert "care.raise_alerts" in {t.name for t in queue.read_periodic(datetime(2026, 3, 2, 10, 5))}
    assert "care.raise_alerts" not in {t.name for t in queue.read_periodic(datetime(2026, 3, 2, 10, 6))}
    assert MOVE_HOOKS.count(rehome) == 1


def test_the_app_registers_the_move_hook_once(app) -> None:
    from jiayuan.hooks import register_hooks

    register_hooks()  # again, as a second app in the same process would: still once

    assert MOVE_HOOKS.count(rehome) == 1
