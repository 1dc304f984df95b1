"""/ws: full state on connect, an update after every poll, ping/pong, and dropping a stalled client."""

from __future__ import annotations

import json
from typing import Any

import trio
from trio_websocket import open_websocket_url

from pulse_core.daemon import Daemon
from pulse_core.state import State
from pulse_core.testing.fixtures import wait_until
from pulse_core.web.ws import WebSocketHub


def ws_url(daemon: Daemon) -> str:
    return daemon.bound_urls[0].replace("http://", "ws://") + "/ws"


async def test_initial_state_then_update_after_poll(live: Daemon) -> None:
    async with open_websocket_url(ws_url(live), max_message_size=16 * 1024 * 1024) as ws:
        first = json.loads(await ws.get_message())
        assert first["type"] == "initialState"
        assert first["data"]["nodes"]
        assert {"vms", "containers", "connectionHealth", "lastUpdate"} <= set(first["data"])

        update = json.loads(await ws.get_message())

        assert update["type"] == "rawData"
        assert update["data"]["stats"]["version"] >= first["data"]["stats"]["version"]


async def test_ping_pong_and_resync(live: Daemon) -> None:
    async with open_websocket_url(ws_url(live), max_message_size=16 * 1024 * 1024) as ws:
        await ws.get_message()
        await ws.send_message(json.dumps({"type": "ping"}))
        await ws.send_message(json.dumps({"type": "requestData"}))
        kinds = set()
        while not {"pong", "rawData"} <= kinds:
            kinds.add(json.loads(await ws.get_message())["type"])
        assert {"pong", "rawData"} <= kinds


async def test_stalled_client_is_dropped_and_others_keep_receiving() -> None:
    hub = WebSocketHub(State(), client_buffer=2)
    stalled = hub.register("198.51.100.1")
    reader = hub.register("198.51.100.2")
    received: list[str] = []

    async def read() -> None:
        async for text in reader.receive_channel:
            received.append(text)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        for _ in range(5):
            hub.on_poll()
            await trio.sleep(0)
        reader.send_channel.close()

    assert stalled.dropped is True
    assert stalled.cancel_scope.cancel_called
    assert hub.dropped == 1
    assert stalled not in hub.clients
    assert len(received) == 5
    assert all(json.loads(text)["type"] == "rawData" for text in received)


async def test_dropped_connection_discards_queued_states(live: Daemon) -> None:
    hub: WebSocketHub = live.app.extensions["pulse_ws_hub"]
    async with open_websocket_url(ws_url(live), max_message_size=16 * 1024 * 1024) as ws:
        await ws.get_message()
        await wait_until(lambda: bool(hub.clients))
        (client,) = hub.clients
        # No checkpoint between the offers: the waiting handler takes at most one, the next ones fill the
        # queue, and the last one drops the client with its queue still full.
        for _ in range(hub.client_buffer + 2):
            hub.offer(client, hub.update_for(client))
        assert client.dropped is True
        await wait_until(lambda: client.send_channel.statistics().open_send_channels == 0)

    statistics = client.send_channel.statistics()
    assert statistics.open_receive_channels == 0
    assert statistics.current_buffer_used == 0


async def test_broadcast_reuses_one_message_per_version() -> None:
    state = State()
    hub = WebSocketHub(state)

    first = hub.update_message()
    again = hub.update_message()
    state.set_active_alerts([])
    changed = hub.update_message()

    assert first is again
    assert changed is not first


async def test_auth_required_for_ws_when_configured(live_factory: Any) -> None:
    from trio_websocket import HandshakeError

    daemon = await live_factory(nodes=[], overrides={"auth.api_token": "t" * 32})
    try:
        async with open_websocket_url(ws_url(daemon)):
            raise AssertionError("the handshake should have been rejected")
    except HandshakeError as exc:
        assert getattr(exc, "status_code", 401) in (401, 403)


async def test_gzip_encoding_sends_compressed_frames(live: Daemon) -> None:
    import gzip

    async with open_websocket_url(ws_url(live) + "?encoding=gzip", max_message_size=16 * 1024 * 1024) as ws:
        first = await ws.get_message()
        update = await ws.get_message()

    assert isinstance(first, bytes)
    assert json.loads(gzip.decompress(first))["type"] == "initialState"
    assert json.loads(gzip.decompress(update))["type"] == "rawData"


async def test_unknown_encoding_is_rejected(live: Daemon) -> None:
    from trio_websocket import ConnectionRejected

    try:
        async with open_websocket_url(ws_url(live) + "?encoding=brotli"):
            raise AssertionError("the handshake should have been rejected")
    except ConnectionRejected as exc:
        assert exc.status_code == 403
