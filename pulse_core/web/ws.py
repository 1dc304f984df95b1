"""``/ws``: the full state on connect, then the full state again after every poll.

Message format (text frames, JSON objects with a ``type``):

* ``{"type": "initialState", "data": <state>}`` once, right after the connection opens;
* ``{"type": "rawData", "data": <state>}`` after each processed poll, and in reply
  to a client's ``{"type": "requestData"}`` (a full resync on request);
* ``{"type": "pong", "timestamp": <epoch seconds>}`` in reply to ``{"type": "ping"}``.

``<state>`` is the same document as ``GET /api/state``. The server also sends
WebSocket ping frames (Hypercorn's ``websocket_ping_interval``) that browsers
answer on their own.

Each client has a bounded queue of pending messages. Broadcasting never waits:
a client whose queue is full has stopped reading, so it is disconnected (close
code 1013) and counted in ``dropped``, and the others are not slowed down.
"""

from __future__ import annotations

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


@dataclass(eq=False)
class WebSocketClient:
    address: str
    send_channel: trio.MemorySendChannel[str]
    receive_channel: trio.MemoryReceiveChannel[str]
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

    # --- messages -------------------------------------------------------------------

    def state_message(self, kind: str) -> str:
        # The state bytes are already JSON, so the envelope is built by concatenation, not re-serialized.
        return '{"type":"' + kind + '","data":' + self.state.serialized().decode() + "}"

    def initial_message(self) -> str:
        return self.state_message("initialState")

    def update_message(self) -> str:
        """Return the rawData message for the current state version, built once per version."""
        if self._update_version != self.state.version or not self._update_text:
            self._update_text = self.state_message("rawData")
            self._update_version = self.state.version
        return self._update_text

    # --- clients ---------------------------------------------------------------------

    def register(self, address: str) -> WebSocketClient:
        send_channel, receive_channel = trio.open_memory_channel[str](self.client_buffer)
        client = WebSocketClient(address, send_channel, receive_channel)
        self.clients.add(client)
        return client

    def unregister(self, client: WebSocketClient) -> None:
        self.clients.discard(client)

    def offer(self, client: WebSocketClient, text: str) -> None:
        """Queue ``text`` for ``client`` without waiting; a full queue drops the client."""
        if client.dropped:
            return
        try:
            client.send_channel.send_nowait(text)
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
        text = self.update_message()
        self.broadcasts += 1
        for client in list(self.clients):
            self.offer(client, text)

    def stats(self) -> dict[str, int]:
        return {"clients": len(self.clients), "dropped": self.dropped, "broadcasts": self.broadcasts}


async def _read_client(hub: WebSocketHub, client: WebSocketClient) -> None:
    """Answer the client's ping and requestData messages; ignore anything else."""
    while True:
        data = await websocket.receive()
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            message = data.strip() if isinstance(data, str) else None
        kind = message.get("type") if isinstance(message, dict) else message
        if kind == "ping":
            hub.offer(client, orjson.dumps({"type": "pong", "timestamp": time.time()}).decode())
        elif kind == "requestData":
            hub.offer(client, hub.state_message("rawData"))


@blueprint.websocket("/ws")
async def ws() -> None:
    hub: WebSocketHub = current_app.extensions["pulse_ws_hub"]
    await websocket.accept()
    client = hub.register(websocket.remote_addr or "unknown")
    try:
        with client.cancel_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read_client, hub, client)
                await websocket.send(hub.initial_message())
                async for text in client.receive_channel:
                    await websocket.send(text)
    finally:
        hub.unregister(client)
        client.send_channel.close()
    if client.dropped:
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await websocket.close(CLOSE_TOO_SLOW, "client too slow: fell behind the state updates")
