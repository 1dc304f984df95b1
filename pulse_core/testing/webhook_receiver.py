"""A webhook receiver on 127.0.0.1 for notifier tests: records requests and replies as configured.

    async with open_webhook_receiver() as receiver:
        receiver.reply(429, b"slow down", headers={"Retry-After": "7"})
        ...  # point a notifier at receiver.url + "/any/path?query"
        receiver.requests[0].json()

Replies queued with ``reply()`` are used in order, then ``default`` (200, ``{"ok": true}``).
A reply with ``hang=True`` never answers, so the client's timeout is exercised.
The server speaks just enough HTTP/1.1 for httpx and requests: one request per
connection, bodies sized by Content-Length or chunked.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass(slots=True)
class ReceivedRequest:
    method: str
    target: str  # path and query exactly as sent
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.target).query, keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    hang: bool = False


class WebhookReceiver:
    """State of a running receiver; see the module docstring."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[ReceivedRequest] = []
        self.default = Reply()
        self.handler: Callable[[ReceivedRequest], Reply | None] | None = None
        self._queued: deque[Reply] = deque()
        self._arrived = trio.Event()

    def reply(self, status: int = 200, body: bytes | str = b"", headers: dict[str, str] | None = None, *, times: int = 1) -> None:
        """Reply to the next ``times`` requests with this status, body and headers."""
        data = body.encode() if isinstance(body, str) else body
        for _ in range(times):
            self._queued.append(Reply(status, data, dict(headers or {})))

    def hang(self, times: int = 1) -> None:
        """Send no reply at all to the next ``times`` requests."""
        for _ in range(times):
            self._queued.append(Reply(hang=True))

    async def wait_for_requests(self, count: int) -> None:
        while len(self.requests) < count:
            await self._arrived.wait()
            self._arrived = trio.Event()

    def _choose(self, request: ReceivedRequest) -> Reply:
        if self._queued:
            return self._queued.popleft()
        if self.handler is not None:
            chosen = self.handler(request)
            if chosen is not None:
                return chosen
        return self.default

    async def _serve(self, stream: trio.SocketStream) -> None:
        async with stream:
            request = await _read_request(stream)
            if request is None:
                return
            self.requests.append(request)
            self._arrived.set()
            reply = self._choose(request)
            if reply.hang:
                await trio.sleep_forever()
            reason = _REASONS.get(reply.status, "Status")
            head = [f"HTTP/1.1 {reply.status} {reason}", f"Content-Length: {len(reply.body)}", "Connection: close"]
            head += [f"{name}: {value}" for name, value in reply.headers.items()]
            await stream.send_all(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)


async def _read_request(stream: trio.SocketStream) -> ReceivedRequest | None:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(stream, rest)
    else:
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            rest += chunk
        body = rest[:length]
    return ReceivedRequest(method, target, headers, body)


async def _read_chunked(stream: trio.SocketStream, data: bytes) -> bytes:
    body = b""
    while True:
        while b"\r\n" not in data:
            data += await stream.receive_some(65536)
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(data) < size + 2:
            data += await stream.receive_some(65536)
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2:]


@asynccontextmanager
async def open_webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """Run a receiver on an ephemeral port of 127.0.0.1 for the duration of the block."""
    receiver = WebhookReceiver()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, receiver._serve, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        receiver.url = f"http://127.0.0.1:{port}"
        try:
            yield receiver
        finally:
            nursery.cancel_scope.cancel()
