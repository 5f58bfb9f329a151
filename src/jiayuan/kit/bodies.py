"""Bounded request bodies: an ASGI middleware that refuses a body over its route's limit while it streams in, the
decorator by which a route asks for a larger limit, and a reader of uploaded files that stops at a limit.

Every route gets the small default limit (`JIAYUAN_MAX_BODY_BYTES`); a route that takes photos or a file to import
says so where it is declared, under its router decorator:

    @router.post("/{number}/photos")
    @body_limit(PHOTOS)
    def add_photos(...): ...

The middleware reads that mark from the matched endpoint when the route first asks for its body (routing is done by
then; nothing of the body has been read), checks Content-Length up front, then counts the bytes as they arrive, so
a chunked body without Content-Length is refused at the limit too. In a multipart body it also counts each file part
against the per-file limit of the route (a photo, a spreadsheet) and refuses as soon as one passes it, naming the
form field. The refusal (413) is sent at once from inside the receive call, the rest of the body is never read, and
the application's own answer to the broken-off body is dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, Any

from jiayuan.kit.errors import TooLarge

try:  # python-multipart >= 0.0.13; Starlette imports it the same way
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # pragma: no cover - older python-multipart
    from multipart.multipart import MultipartParser, parse_options_header  # type: ignore[no-redef]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT = "default"
PHOTOS = "photos"  # routes taking photos (cases, care visits): at most max_photos of max_photo_bytes each
IMPORT = "import"  # routes taking a file to import (registry spreadsheets, the calendar, units GeoJSON)
KINDS = (DEFAULT, PHOTOS, IMPORT)
ATTRIBUTE = "body_limit"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limit:
    """The most a request may send (`body` bytes), and each file of a multipart body (`file`, None: no limit of
    its own). `indexed`: files are named by their position (`photos[1]`), as the photo checks name them."""

    body: int
    file: int | None = None
    indexed: bool = False


def body_limit(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a route's function as taking a larger body (PHOTOS or IMPORT); put it under the router decorator."""
    if kind not in KINDS:
        raise ValueError(f"unknown body limit {kind!r}: one of {', '.join(KINDS)}")

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, ATTRIBUTE, kind)
        return endpoint

    return mark


def kind_of(endpoint: Any) -> str:
    return getattr(endpoint, ATTRIBUTE, DEFAULT)


def human(n: int) -> str:
    """A byte count as people say it: 10 MB, 1.5 MB, 800 KB."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def too_large(field: str, limit: int, what: str = "the request body") -> TooLarge:
    return TooLarge(f"{field}: {what} is larger than {human(limit)}", field=field, limit=human(limit),
                    limit_bytes=limit)


class _Refused(Exception):
    """Raised into the application once the 413 has been sent: it stops reading the body."""


class _FileCounter:
    """Counts the bytes of each file part of a multipart body as it streams through, by field name."""

    def __init__(self, content_type: bytes, limit: int) -> None:
        _, params = parse_options_header(content_type)
        self.limit = limit
        self.over: tuple[str, int] | None = None  # (field name, index among files of that name)
        self._seen: dict[str, int] = {}
        self._name, self._is_file, self._size = "", False, 0
        self._header_name, self._header_value, self._disposition = b"", b"", b""
        boundary = params.get(b"boundary")
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._field, "on_header_value": self._value,
            "on_header_end": self._header_end, "on_headers_finished": self._headers_done,
            "on_part_data": self._data}) if boundary else None

    def feed(self, chunk: bytes) -> None:
        if self._parser is None or self.over is not None:
            return
        try:
            self._parser.write(chunk)
        except Exception:  # noqa: BLE001 - a malformed body is the form parser's to refuse (400), not ours
            self._parser = None

    def _begin(self) -> None:
        self._name, self._is_file, self._size, self._disposition = "", False, 0, b""

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")[:50]
        self._is_file = b"filename" in options
        if self._is_file:
            self._seen[self._name] = self._seen.get(self._name, -1) + 1

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file:
            return
        self._size += end - start
        if self._size > self.limit and self.over is None:
            self.over = (self._name, self._seen[self._name])


class BodyLimitMiddleware:
    """Refuse (413) a request body over its route's limit, from Content-Length or while counting what arrives.

    `limits(kind)` gives the Limit of a route kind (DEFAULT, PHOTOS, IMPORT); `refuse(scope, receive, send, error)`
    sends the refusal (JSON or a page). Put it inside the session middleware, so that a page can be rendered."""

    def __init__(self, app: Callable[..., Awaitable[None]], limits: Callable[[str], Limit],
                 refuse: Callable[[Scope, Receive, Send, TooLarge], Awaitable[None]]) -> None:
        self.app, self.limits, self.refuse = app, limits, refuse
        self.largest = max(limits(kind).body for kind in KINDS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.largest:  # more than any route takes: before routing
            await self.refuse(scope, receive, send, too_large("body", self.largest))
            return
        state: dict[str, Any] = {"limit": None, "received": 0, "refused": False, "started": False, "counter": None}

        async def refuse(error: TooLarge) -> None:
            state["refused"] = True
            if not state["started"]:
                await self.refuse(scope, receive, send, error)
            raise _Refused

        async def guarded_receive() -> Message:
            if state["refused"]:
                raise _Refused
            limit: Limit | None = state["limit"]
            if limit is None:  # the first read of the body: the route is known, nothing has been read yet
                limit = state["limit"] = self.limits(kind_of(scope.get("endpoint")))
                if declared is not None and declared > limit.body:
                    await refuse(too_large("body", limit.body))
                content_type = _header(scope, b"content-type")
                if limit.file is not None and content_type.lower().startswith(b"multipart/form-data"):
                    state["counter"] = _FileCounter(content_type, limit.file)
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                state["received"] += len(body)
                if state["received"] > limit.body:
                    await refuse(too_large("body", limit.body))
                counter: _FileCounter | None = state["counter"]
                if counter is not None:
                    counter.feed(body)
                    if counter.over is not None:
                        name, index = counter.over
                        field = f"{name}[{index}]" if limit.indexed else name
                        await refuse(too_large(field, counter.limit, "the file"))
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return  # the application's answer to a body cut short: the 413 went out instead
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise
            # The application failed because its body was cut short (FastAPI turns that into a 400, a form
            # parser may raise): the 413 has been sent and the connection will be closed.


def _header(scope: Scope, name: bytes) -> bytes:
    return next((v for k, v in scope.get("headers", ()) if k.lower() == name), b"")


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def read_prefix(file: IO[bytes], n: int) -> bytes:
    """At most `n` bytes of an uploaded file, read a chunk at a time (never the whole of a larger file): callers
    read one byte past their limit, so that the check that follows can refuse the file naming the limit."""
    parts: list[bytes] = []
    size = 0
    while size < n and (chunk := file.read(min(CHUNK, n - size))):
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)
