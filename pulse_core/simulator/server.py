"""A small HTTP/1.1 server (h11 over Trio) that the simulated PVE and PBS APIs run on.

A general-purpose ASGI server cannot do what a fault-injecting Proxmox
simulator needs: set the reason phrase (Proxmox puts error messages there and
sends 595 with an empty body), cut a body short after the headers, refuse
connections by closing the listening socket at once, and swap the certificate
between handshakes. This module does exactly those things and nothing more.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import h11
import orjson
import trio

from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.faults import FaultSet
from pulse_core.simulator.tls import Certificate, load_certificate, server_context

logger = logging.getLogger(__name__)

MAX_REQUEST_BODY = 1024 * 1024
API_PREFIX = "/api2/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    # Which endpoint received the request (a node name in per-member mode).
    endpoint: str = ""
    _params: dict[str, Any] | None = None

    @property
    def params(self) -> dict[str, Any]:
        """Return body parameters merged with the query string (query wins, as in PVE)."""
        if self._params is None:
            params: dict[str, Any] = {}
            content_type = self.headers.get("content-type", "")
            if self.body:
                if content_type.startswith("application/json"):
                    try:
                        decoded = orjson.loads(self.body)
                    except orjson.JSONDecodeError:
                        decoded = None
                    if isinstance(decoded, dict):
                        params.update(decoded)
                else:
                    params.update(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
            params.update(self.query)
            self._params = params
        return self._params


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    reason: str = ""
    content_type: str = "application/json;charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Set by fault injection: send the headers and only part of the body, then close.
    truncate: bool = False


Handler = Callable[[Request], Awaitable[Response]]


def json_response(payload: Any, status: int = 200, reason: str = "OK") -> Response:
    return Response(status=status, body=orjson.dumps(payload), reason=reason)


class Endpoint:
    """One listening address (PVE, PBS or a cluster member) with its own certificate.

    The listening socket is opened synchronously so that, once a control call
    returns, connections are accepted (or refused) right away.
    """

    def __init__(
        self,
        name: str,
        server: str,
        handler: Handler,
        *,
        certificate: Certificate | None,
        clock: SimClock,
        faults: FaultSet,
        control_handler: Handler | None = None,
        server_header: str = "pve-api-daemon/3.0",
    ) -> None:
        self.name = name
        self.server = server
        self.handler = handler
        self.control_handler = control_handler
        self.certificate = certificate
        self.clock = clock
        self.faults = faults
        self.server_header = server_header
        self.port = 0
        self._context: ssl.SSLContext | None = server_context(certificate) if certificate else None
        self._socket: trio.socket.SocketType | None = None
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self.requests_served = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._socket is not None

    # -- lifecycle --------------------------------------------------------------

    def bind(self) -> None:
        """Open the listening socket on 127.0.0.1 (an ephemeral port first, the same port again later)."""
        if self._socket is not None:
            return
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            raw.bind(("127.0.0.1", self.port))
        except OSError:
            raw.close()
            raise
        raw.listen(128)
        raw.setblocking(False)
        self.port = raw.getsockname()[1]
        self._socket = trio.socket.from_stdlib_socket(raw)

    def start(self, nursery: trio.Nursery) -> None:
        """Bind if needed and serve connections from ``nursery``."""
        if self._socket is not None and self._scope is not None:
            return
        self.bind()
        assert self._socket is not None
        self._nursery = nursery
        self._scope = trio.CancelScope()
        nursery.start_soon(self._serve, self._socket, self._scope)
        logger.info("simulated %s endpoint %s listening on %s", self.server, self.name, self.url)

    def stop(self) -> None:
        """Close the listening socket (new connections are refused) and drop open ones."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            logger.info("simulated %s endpoint %s stopped", self.server, self.name)
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None

    def drop_connections(self) -> None:
        """Close every open connection but keep listening."""
        if self._socket is not None and self._scope is not None and self._nursery is not None:
            self._scope.cancel()
            self._scope = trio.CancelScope()
            self._nursery.start_soon(self._serve, self._socket, self._scope)

    def set_certificate(self, certificate: Certificate) -> None:
        """Serve ``certificate`` from the next handshake on and drop open connections."""
        if self._context is None:
            raise ValueError(f"endpoint {self.name} serves plain HTTP and has no certificate")
        self.certificate = certificate
        load_certificate(self._context, certificate)
        self.drop_connections()

    async def _serve(self, sock: trio.socket.SocketType, scope: trio.CancelScope) -> None:
        listener = trio.SocketListener(sock)
        with scope:
            async with trio.open_nursery() as connections:
                while True:
                    try:
                        stream = await listener.accept()
                    except trio.ClosedResourceError:
                        return
                    except OSError as exc:
                        # For example EMFILE under a load test: keep serving once descriptors free up.
                        logger.warning("simulated %s endpoint %s failed to accept a connection: %s", self.server, self.name, exc)
                        await trio.sleep(0.1)
                        continue
                    connections.start_soon(self._serve_connection, stream)

    # -- one connection ---------------------------------------------------------

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        wrapped: trio.abc.Stream = stream
        if self._context is not None:
            wrapped = trio.SSLStream(stream, self._context, server_side=True, https_compatible=True)
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(connection, wrapped)
                if request is None:
                    return
                keep_open = await self._respond(connection, wrapped, request)
                if not keep_open or connection.our_state is h11.MUST_CLOSE:
                    return
                try:
                    connection.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError) as exc:
            # Clients that hang up, fail the TLS handshake (a pinned fingerprint) or send
            # invalid HTTP only lose their own connection.
            logger.debug("simulated %s endpoint %s closed a connection: %r", self.server, self.name, exc)
            return
        finally:
            await trio.aclose_forcefully(wrapped)

    async def _read_request(self, connection: h11.Connection, stream: trio.abc.Stream) -> Request | None:
        head: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                connection.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_REQUEST_BODY:
                    raise h11.RemoteProtocolError("request body too large")
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                target = head.target.decode("latin-1")
                raw_path, _, raw_query = target.partition("?")
                headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in head.headers}
                return Request(
                    method=head.method.decode("ascii"),
                    path=unquote(raw_path),
                    query=dict(parse_qsl(raw_query, keep_blank_values=True)),
                    headers=headers,
                    body=b"".join(chunks),
                    endpoint=self.name,
                )
            elif isinstance(event, (h11.ConnectionClosed, h11.PAUSED)):
                return None

    async def _respond(self, connection: h11.Connection, stream: trio.abc.Stream, request: Request) -> bool:
        self.requests_served += 1
        if request.path.startswith("/_sim/") and self.control_handler is not None:
            response = await self.control_handler(request)
        else:
            response = await self._api_response(request)
        headers = [
            ("Date", email.utils.formatdate(self.clock.server_now(), usegmt=True)),
            ("Server", self.server_header),
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            ("Cache-Control", "max-age=0"),
            *response.headers,
        ]
        reason = response.reason.split("\n", 1)[0].encode("utf-8", "replace")
        await stream.send_all(connection.send(h11.Response(status_code=response.status, headers=headers, reason=reason)))
        if response.truncate:
            # Half the promised body, then a hard close: the client sees a short read.
            await stream.send_all(connection.send(h11.Data(data=response.body[: len(response.body) // 2])))
            return False
        if response.body:
            view = memoryview(response.body)
            for start in range(0, len(view), 1 << 20):
                await stream.send_all(connection.send(h11.Data(data=bytes(view[start:start + (1 << 20)]))))
        await stream.send_all(connection.send(h11.EndOfMessage()))
        return True

    async def _api_response(self, request: Request) -> Response:
        path = request.path[len(API_PREFIX):] if request.path.startswith(API_PREFIX + "/") else request.path
        faults = self.faults.take(self.server, path)
        for fault in faults:
            if fault.kind == "latency":
                await trio.sleep(fault.seconds)
        for fault in faults:
            if fault.kind == "error":
                body = fault.body.encode() if fault.body is not None else b""
                if fault.body is None and fault.status < 590:
                    body = orjson.dumps({"data": None, "message": "simulated failure\n"})
                return Response(status=fault.status, body=body, reason="simulated failure")
        response = await self.handler(request)
        for fault in faults:
            if fault.kind == "malformed":
                response.body = response.body[: max(1, len(response.body) // 2)] + b"<html>\x00 simulated garbage"
            elif fault.kind == "truncated":
                response.truncate = True
            elif fault.kind == "oversized":
                response.body = _oversize(response.body, fault.size)
        return response


def _oversize(body: bytes, size: int) -> bytes:
    """Pad a JSON object body with whitespace to ``size`` bytes; it stays valid JSON."""
    if len(body) >= size:
        return body
    padding = size - len(body)
    if body.startswith(b"{"):
        return b"{" + b" " * padding + body[1:]
    return body + b" " * padding
