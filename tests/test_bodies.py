"""Request bodies are bounded on every route (kit/bodies.py): a body over its route's limit is a 413 naming the body
(or the file over its own limit), sent as soon as the limit is passed, whether the client declared a Content-Length
or streamed the body in chunks, and the rest is never read. Routes that take photos or a file to import say so."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from jiayuan.app import create_app
from jiayuan.config import Settings

MiB = 1024 * 1024
CHUNK = 64 * 1024
BOUNDARY = "----jiayuan-test-boundary"


class Streamed:
    """What the server answered to a body fed to the ASGI app chunk by chunk, and how much of it was read."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, consumed: int) -> None:
        self.status, self.headers, self.body, self.consumed = status, headers, body, consumed

    def json(self) -> Any:
        return json.loads(self.body)


def stream(app: Any, path: str, chunks: Iterator[bytes], headers: dict[str, str]) -> Streamed:
    """POST `chunks` to `app` as a server would pass a chunked body (no Content-Length unless given), counting the
    bytes the application pulled: the rest of the generator is never produced."""
    consumed = 0
    done = False
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal consumed, done
            if done:
                await finished.wait()
                return {"type": "http.disconnect"}
            chunk = next(chunks, None)
            if chunk is None:
                done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            consumed += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
                 "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()], "state": {}}
        await app(scope, receive, send)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Streamed(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, consumed)


def large(size: int = 64 * MiB) -> Iterator[bytes]:
    """A large body, made as it is read: a server that stops reading never makes the rest."""
    for _ in range(size // CHUNK):
        yield b"x" * CHUNK


def json_body(size: int) -> Iterator[bytes]:
    yield b'{"category": "road", "description": "'
    for _ in range(size // CHUNK):
        yield b"x" * CHUNK
    yield b'"}'


def multipart(*files: tuple[str, int]) -> Iterator[bytes]:
    """A multipart body with one file part of `size` bytes per (field, size), made as it is read."""
    for name, size in files:
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.jpg\"\r\n"
               "Content-Type: image/jpeg\r\n\r\n").encode()
        yield b"\xff\xd8\xff\xe0"
        left = size - 4
        while left > 0:
            yield b"\x00" * min(CHUNK, left)
            left -= CHUNK
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_photo_bytes": 2 * MiB, "max_photos": 3})


def test_a_2_mib_json_body_to_an_ordinary_route_is_refused_413(client: TestClient) -> None:
    body = json.dumps({"category": "road", "description": "x" * 2 * MiB})
    r = client.post("/api/v1/cases", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "too_large" and r.json()["reason"] == "too_large"
    assert r.json()["field"] == "body" and r.json()["params"] == {"limit": "1 MB", "limit_bytes": MiB}


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(app: Any) -> None:
    r = stream(app, "/api/v1/cases", large(), {"content-type": "application/json",
                                                 "content-length": str(2 * MiB)})
    assert r.status == 413 and r.json()["field"] == "body"
    assert r.consumed == 0
    assert r.headers["connection"] == "close"


def test_a_chunked_body_without_length_is_refused_at_the_limit_and_not_read_further(app: Any) -> None:
    r = stream(app, "/api/v1/cases", large(), {"content-type": "application/json"})
    assert r.status == 413 and r.json()["field"] == "body"
    assert MiB < r.consumed <= MiB + CHUNK  # stopped at the first chunk past 1 MiB of 64 MiB
    # Under the limit the route reads its body whole as ever, then asks who is calling.
    ok = stream(app, "/api/v1/cases", json_body(MiB // 2), {"content-type": "application/json"})
    assert ok.status == 401 and ok.consumed >= MiB // 2


def test_a_page_route_answers_a_translated_page(client: TestClient) -> None:
    r = client.post("/login", data={"username": "x" * 2 * MiB, "password": "p", "csrf_token": "t"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "提交的内容过大（最多 1 MB）" in r.text


def test_a_photo_over_its_limit_is_refused_as_it_streams(small: Settings, db: Any) -> None:
    app = create_app(small, db=db)
    # The second photo passes 2 MiB: refused there, naming it, although the body as a whole (3 × 2 MiB + 1 MiB)
    # had room for it; the 40 MiB photo is never read.
    r = stream(app, "/api/v1/cases/C1/photos", multipart(("photos", 100_000), ("photos", 40 * MiB)), MULTIPART)
    assert r.status == 413
    assert (r.json()["field"], r.json()["reason"]) == ("photos[1]", "too_large")
    assert r.json()["params"]["limit"] == "2 MB"
    assert 2 * MiB < r.consumed <= 2 * MiB + 100_000 + 2 * CHUNK
    # Many photos, each within its limit, are refused at the body limit of a photo route (1 MiB + 3 × 2 MiB).
    r = stream(app, "/api/v1/care/visits/00000000-0000-0000-0000-000000000000/photos",
               multipart(*[("photos", 2 * MiB - 1000)] * 20), MULTIPART)
    assert (r.status, r.json()["field"]) == (413, "body") and 7 * MiB < r.consumed <= 7 * MiB + CHUNK
    # On a page that takes photos, the refusal is a page in the reader's language.
    r = stream(app, "/report", multipart(("photos", 3 * MiB)), MULTIPART)
    assert r.status == 413 and "第 1 张照片太大（最大 2 MB）" in r.body.decode()


def test_photos_within_the_limit_reach_the_route(small: Settings, db: Any) -> None:
    app = create_app(small, db=db)
    r = stream(app, "/api/v1/cases/C1/photos", multipart(("photos", MiB), ("photos", MiB)), MULTIPART)
    assert r.status == 401  # read whole, then the route asks who is calling


def test_a_file_to_import_may_be_larger_than_a_form(client: TestClient) -> None:
    csv = "姓名,身份证号,网格编码\n".encode() + b"x,y,z\n" * (3 * MiB // 6)
    r = client.post("/api/v1/registry/imports/people", files={"file": ("p.csv", csv, "text/csv")})
    assert r.status_code == 401  # not refused for its size: the route reads it, then asks who is calling


def test_every_route_that_takes_files_declares_its_body_limit(app: Any) -> None:
    """A route with an UploadFile parameter, or a page reading photos from its form, is marked PHOTOS or IMPORT:
    with the default limit its uploads would be refused."""
    from jiayuan.kit import bodies

    unmarked, marked = [], set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        source = inspect.getsource(route.endpoint)
        takes_files = any(mark in source for mark in ("UploadFile", "photo_bytes(", "file_case("))
        photos = "photo" in source or "file_case(" in source
        kind = bodies.kind_of(route.endpoint)
        if takes_files and kind != (bodies.PHOTOS if photos else bodies.IMPORT):
            unmarked.append(f"{sorted(route.methods)} {context.path}: {kind}")
        if kind != bodies.DEFAULT:
            marked.add(context.path)
    assert unmarked == []
    assert {"/api/v1/cases/{number}/photos", "/report", "/patrol", "/care/visits/new",
            "/api/v1/registry/imports/{kind}", "/registry/import", "/api/v1/units/import"} <= marked
