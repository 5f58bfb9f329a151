"""Configuration from JIAYUAN_ variables; production refuses the development secret."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from jiayuan.app import _DropQueryString
from jiayuan.config import Settings


def test_defaults_to_embedded_sqlite_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIAYUAN_DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite:///var/jiayuan.db"


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", "postgresql://db.example/jiayuan")
    monkeypatch.setenv("JIAYUAN_TILE_URL", "https://t0.tianditu.gov.cn/vec_w/wmts?tk=KEY")
    s = Settings()
    assert s.database_url == "postgresql://db.example/jiayuan" and "tianditu" in s.tile_url


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIAYUAN_PRODUCTION", "1")
    monkeypatch.delenv("JIAYUAN_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="JIAYUAN_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("JIAYUAN_SECRET_KEY", "s" * 40)
    with pytest.raises(ValidationError, match="JIAYUAN_DATA_KEYS"):
        Settings()  # personal data needs its own keys in production
    monkeypatch.setenv("JIAYUAN_DATA_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setenv("JIAYUAN_INDEX_KEY", "A" * 43 + "=")
    assert Settings().production


def test_access_log_drops_query_strings() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/v1/units/locate?lat=27.1&lon=114.9", "1.1", 200),
                               None)
    _DropQueryString().filter(record)
    assert "27.1" not in record.getMessage() and "/api/v1/units/locate" in record.getMessage()
