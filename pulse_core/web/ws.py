"""``/ws``: the full state on connect, then the full state again after every poll.

Message format (text frames, JSON objects with a ``type``):

* ``{"type": "initialState", "data": <state>}`` once, right after the connection opens;
* ``{"type": "rawData", "data": <state>}`` after each processed poll, and in reply
  to a client's ``{"type": "requestData"}`` (a full resync on request);
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

Each client has a bounded queue of pending messages. Broadcasting never waits:
a client whose queue is full has stopped reading, so it is disconnected (close
code 1013) and counted in ``dropped``, and the others are not slowed down.
"""

from __future__ import annotations

import gzip
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio
from quart import Blueprint, current_app, websocket

log = logging.getLogger(__name__)

blueprint = Blueprint("ws", __name__)

# Messages a client may have pending before it counts as stalled. One full
# state per poll, so two means the client is more than a poll behind.
DEFAULT_CLIENT_BUFFER = 2
CLOSE_TOO_SLOW = 1013  # "try again later" (RFC 6455 registry)
GZIP_LEVEL = 5
Message = str | bytes


@dataclass(eq=False)
class WebSocketClient:
    address: str
    send_channel: trio.MemorySendChannel[Message]
    receive_channel: trio.MemoryReceiveChannel[Message]
    compressed: bool = False
    cancel_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    dropped: bool = False


class WebSocketHub:
    """Fans the cached state out to every connected client after each poll."""

    def __init__(self, state: Any, client_buffer: int = DEFAULT_CLIENT_BUFFER) -> None:
        self.state = state
        self.client_buffer = client_buffer
        self.clients: set[WebSocketClient] = set()
        self.dropped = 0
        self.broadcasts = 0
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
        send_channel, receive_channel = trio.open_memory_channel[Message](self.client_buffer)
        client = WebSocketClient(address, send_channel, receive_channel, compressed=compressed)
        self.clients.add(client)
        return client

    def unregister(self, client: WebSocketClient) -> None:
        self.clients.discard(client)

    def offer(self, client: WebSocketClient, message: Message) -> None:
        """Queue ``message`` for ``client`` without waiting; a full queue drops the client."""
        if client.dropped:
            return
        try:
            client.send_channel.send_nowait(message)
        except trio.WouldBlock:
            self._drop(client)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self.unregister(client)

    def _drop(self, client: WebSocketClient) -> None:
        client.dropped = True
        self.dropped += 1
        self.unregister(client)
        client.cancel_scope.cancel()
        log.warning("Dropped WebSocket client %s: it fell %d messages behind", client.address, self.client_buffer)

    def on_poll(self) -> None:
        """Poll listener: send the new state to every client (called on the Trio loop)."""
        if not self.clients:
            return
        self.broadcasts += 1
        for client in list(self.clients):
            self.offer(client, self.update_for(client))

    def stats(self) -> dict[str, int]:
        return {"clients": len(self.clients), "dropped": self.dropped, "broadcasts": self.broadcasts}


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
            hub.offer(client, hub.encode_for(client, orjson.dumps({"type": "pong", "timestamp": time.time()}).decode()))
        elif kind == "requestData":
            hub.offer(client, hub.encode_for(client, hub.state_message("rawData")))


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
        with client.cancel_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read_client, hub, client)
                await websocket.send(hub.encode_for(client, hub.initial_message()))
                async for message in client.receive_channel:
                    await websocket.send(message)
    finally:
        hub.unregister(client)
        client.send_channel.close()
        # Closing the last receive channel discards the queued messages (each a full state, as large as
        # /api/state) now, instead of when the collector frees this connection's reference cycles.
        client.receive_channel.close()
    if client.dropped:
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await websocket.close(CLOSE_TOO_SLOW, "client too slow: fell behind the state updates")
