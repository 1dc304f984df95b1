"""``/ws``: the full state on connect, then the newest state after each poll.

Message format (text frames, JSON objects with a ``type``):

* ``{"type": "initialState", "data": <state>}`` once, right after the connection opens;
* ``{"type": "rawData", "data": <state>}`` after polls, and in reply to a client's
  ``{"type": "requestData"}`` (a full resync on request);
* ``{"type": "pong", "timestamp": <epoch seconds>}`` in reply to ``{"type": "ping"}``.

``<state>`` is the same document as ``GET /api/state``. The server also sends
WebSocket ping frames every 30 seconds (Hypercorn's ``websocket_ping_interval``,
set by the daemon), and browsers reply with pong frames on their own.

A client that connects to ``/ws?encoding=gzip`` gets every message as a binary
frame holding the gzip-compressed JSON text instead (in a browser:
``new Response(event.data.stream().pipeThrough(new DecompressionStream("gzip"))).json()``).
The update is compressed once per state version and the same bytes go to every
such client, which is what lets one process feed hundreds of clients a large
state: about 25 times fewer bytes than text frames for 2,500 guests.

Delivery: every message is the complete state, so an older state is worthless
once a newer one exists. Each connection sends one message at a time. When a
send finishes, the next message is the newest state, and the versions that
arrived during the send are skipped (counted in ``skipped``), never queued.
Replies (``pong`` and ``requestData``) wait in a small queue of their own, are
sent in order before the next state update and are never replaced by one. A
client that sends requests faster than it reads the replies is slowed
down: once its reply queue is full, the server stops reading its messages until
there is room again. A client whose send has not completed after
``stall_seconds`` has stopped reading. The hub then stops sending it states,
counts it in ``dropped`` and closes the connection with code 1013, which the
client sees after the data already in the TCP buffers. Other clients are never
slowed down by it.
"""

from __future__ import annotations

import gzip
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio
from quart import Blueprint, current_app, websocket

log = logging.getLogger(__name__)

blueprint = Blueprint("ws", __name__)

# A send that takes this long means the client has stopped reading, so its TCP
# buffers are full. 60 s carries a 7 MB state over a 1 Mbit/s link.
STALL_SECONDS = 60.0
# Replies waiting to be sent per client. The web UI sends no requests and a
# client gets one reply per request, so 16 waiting replies mean a request flood.
MAX_PENDING_REPLIES = 16
CLOSE_TOO_SLOW = 1013  # "try again later" (RFC 6455 registry)
GZIP_LEVEL = 5
Message = str | bytes
Send = Callable[[Message], Awaitable[None]]


class _Resync:
    """A pending ``requestData`` reply: the state is read when the reply is sent, so the queue contains no copy."""


RESYNC = _Resync()
Reply = str | _Resync


@dataclass(eq=False)
class WebSocketClient:
    address: str
    reply_sender: trio.MemorySendChannel[Reply]
    reply_receiver: trio.MemoryReceiveChannel[Reply]
    compressed: bool = False
    # Set by a broadcast, cleared by ``WebSocketHub.serve`` when it takes the update.
    update_pending: bool = False
    # State version of the last state message sent, so an update never repeats the version already sent.
    sent_version: int = -1
    wakeup: trio.Event = field(default_factory=trio.Event)
    # Its deadline is the current send's deadline, or infinity while no send is running.
    stall_timer: trio.CancelScope = field(default_factory=trio.CancelScope)
    cancel_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    dropped: bool = False


class WebSocketHub:
    """Sends the newest cached state to every connected client after each poll."""

    def __init__(
        self, state: Any, stall_seconds: float = STALL_SECONDS, max_pending_replies: int = MAX_PENDING_REPLIES
    ) -> None:
        self.state = state
        self.stall_seconds = stall_seconds
        self.max_pending_replies = max_pending_replies
        self.clients: set[WebSocketClient] = set()
        self.dropped = 0
        self.broadcasts = 0
        self.skipped = 0
        self._update_version = -1
        self._update_text = ""
        self._gzip_version = -1
        self._gzip_update = b""

    # --- messages -------------------------------------------------------------------

    def state_message(self, kind: str) -> str:
        # The state bytes are already JSON, so the envelope is built by concatenation, not re-serialized.
        return '{"type":"' + kind + '","data":' + self.state.serialized().decode() + "}"

    def initial_message(self) -> str:
        return self.state_message("initialState")

    def encode_for(self, client: WebSocketClient, text: str) -> Message:
        """Return ``text`` as ``client`` wants it: unchanged, or gzip-compressed bytes."""
        return gzip.compress(text.encode(), GZIP_LEVEL) if client.compressed else text

    def update_for(self, client: WebSocketClient) -> Message:
        """Return the rawData message for ``client``; each form is built once per state version."""
        text = self.update_message()
        if not client.compressed:
            return text
        if self._gzip_version != self._update_version:
            self._gzip_update = gzip.compress(text.encode(), GZIP_LEVEL)
            self._gzip_version = self._update_version
        return self._gzip_update

    def update_message(self) -> str:
        """Return the rawData message for the current state version, built once per version."""
        if self._update_version != self.state.version or not self._update_text:
            self._update_text = self.state_message("rawData")
            self._update_version = self.state.version
        return self._update_text

    # --- clients ---------------------------------------------------------------------

    def register(self, address: str, compressed: bool = False) -> WebSocketClient:
        reply_sender, reply_receiver = trio.open_memory_channel[Reply](self.max_pending_replies)
        client = WebSocketClient(address, reply_sender, reply_receiver, compressed=compressed)
        self.clients.add(client)
        return client

    def unregister(self, client: WebSocketClient) -> None:
        self.clients.discard(client)

    async def reply(self, client: WebSocketClient, reply: Reply) -> None:
        """Queue a reply for ``client``, waiting while its reply queue is full, which pauses reading its requests."""
        await client.reply_sender.send(reply)
        client.wakeup.set()

    def on_poll(self) -> None:
        """Mark a state update pending for every client. The daemon calls this after each poll, on the Trio loop."""
        if not self.clients:
            return
        self.broadcasts += 1
        for client in self.clients:
            if client.update_pending:
                # The previous update was not sent yet, so this one replaces it.
                self.skipped += 1
            client.update_pending = True
            client.wakeup.set()

    def stats(self) -> dict[str, int]:
        return {
            "clients": len(self.clients), "dropped": self.dropped, "broadcasts": self.broadcasts,
            "skipped": self.skipped,
        }

    # --- sending ---------------------------------------------------------------------

    async def serve(self, client: WebSocketClient, send: Send) -> None:
        """Send ``initialState``, then replies and the newest state with ``send`` until ``client`` is dropped.

        Returns once the client is dropped for a stalled send, and otherwise runs until cancelled.
        """
        with client.cancel_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_for_stall, client)
                client.sent_version = self.state.version
                await self._send(client, send, self.encode_for(client, self.initial_message()))
                while True:
                    client.wakeup = trio.Event()
                    message = self._next_message(client)
                    if message is None:
                        await client.wakeup.wait()
                    else:
                        await self._send(client, send, message)

    def _next_message(self, client: WebSocketClient) -> Message | None:
        """Return the next reply, else the newest state if an update is pending, else None."""
        try:
            reply = client.reply_receiver.receive_nowait()
        except trio.WouldBlock:
            reply = None
        if isinstance(reply, _Resync):
            return self._newest_state(client)
        if reply is not None:
            return self.encode_for(client, reply)
        if client.update_pending:
            client.update_pending = False
            if client.sent_version != self.state.version:
                return self._newest_state(client)
        return None

    def _newest_state(self, client: WebSocketClient) -> Message:
        message = self.update_for(client)
        client.sent_version = self._update_version
        return message

    async def _send(self, client: WebSocketClient, send: Send, message: Message) -> None:
        client.stall_timer.deadline = trio.current_time() + self.stall_seconds
        await send(message)
        client.stall_timer.deadline = math.inf

    async def _watch_for_stall(self, client: WebSocketClient) -> None:
        # A separate task rather than a timeout around the send: Hypercorn shields its socket writes from
        # cancellation, so only another task can notice a send that never finishes.
        with client.stall_timer:
            await trio.sleep_forever()
        self._drop(client)

    def _drop(self, client: WebSocketClient) -> None:
        client.dropped = True
        self.dropped += 1
        self.unregister(client)
        client.cancel_scope.cancel()
        log.warning("Disconnecting WebSocket client %s: a send did not complete within %g s, so it stopped reading",
                    client.address, self.stall_seconds)


async def _read_client(hub: WebSocketHub, client: WebSocketClient) -> None:
    """Reply to the client's ping and requestData messages and ignore anything else."""
    while True:
        data = await websocket.receive()
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            message = data.strip() if isinstance(data, str) else None
        kind = message.get("type") if isinstance(message, dict) else message
        if kind == "ping":
            await hub.reply(client, orjson.dumps({"type": "pong", "timestamp": time.time()}).decode())
        elif kind == "requestData":
            await hub.reply(client, RESYNC)


@blueprint.websocket("/ws")
async def ws() -> None:
    hub: WebSocketHub = current_app.extensions["pulse_ws_hub"]
    encoding = websocket.args.get("encoding", "")
    if encoding not in ("", "gzip"):
        await websocket.close(1008, f"encoding: unknown value {encoding!r}; use gzip or leave it out")
        return
    await websocket.accept()
    client = hub.register(websocket.remote_addr or "unknown", compressed=encoding == "gzip")
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read_client, hub, client)
            await hub.serve(client, websocket.send)
            nursery.cancel_scope.cancel()
    finally:
        hub.unregister(client)
    if client.dropped:
        # NOTE: Hypercorn 0.18 shields its socket writes from cancellation, so this handler first waits for
        # the stalled send. The close frame goes out once the client reads again. A client that never reads
        # keeps its TCP connection, and the one message in flight, until it disconnects.
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await websocket.close(CLOSE_TOO_SLOW, "client too slow: a send did not complete in time")
