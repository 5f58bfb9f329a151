"""The application as `jiayuan serve` builds it, plus what only a benchmark needs. Never imported by the package.

    uvicorn bench.server:create_app --factory --workers 2

- POST /bench/insert: the intake baseline. It goes through the same stack as a case (middlewares, the
  request's unit of work on the same engine and pool, a Pydantic body, a JSON answer) and does one plain
  INSERT of one row into bench_inserts (TABLE, created by the benchmark in its scratch database).
- Every answer carries `Server-Timing: app;dur=<ms>`: the time from the request entering the outermost
  middleware to its answer starting (the pages benchmark reads it)."""

from __future__ import annotations

import time
import uuid

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import text

from jiayuan.app import create_app as create_jiayuan_app
from jiayuan.deps import DbSession
from jiayuan.kit.db import utcnow

TABLE = ("CREATE TABLE bench_inserts (id uuid PRIMARY KEY, at timestamptz NOT NULL, "
         "description text NOT NULL)")


class Note(BaseModel):
    description: str = Field(max_length=4000)


class ServerTiming:
    """Pure ASGI middleware (no BaseHTTPMiddleware overhead): adds the app's own time to the answer."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed(message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - start) * 1000
                message["headers"] = [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.3f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


def create_app() -> FastAPI:
    app = create_jiayuan_app()

    @app.post("/bench/insert", status_code=201, include_in_schema=False)
    def insert(body: Note, session: DbSession) -> dict[str, str]:
        row_id = uuid.uuid4()
        session.execute(text("INSERT INTO bench_inserts (id, at, description) VALUES (:id, :at, :d)"),
                        {"id": row_id, "at": utcnow(), "d": body.description})
        return {"id": str(row_id)}

    app.add_middleware(ServerTiming)
    return app
