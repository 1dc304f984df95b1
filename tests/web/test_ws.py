"""/ws: full state on connect, the newest state after polls, replies in order, and dropping a stalled client."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from pulse_core.daemon import Daemon
from pulse_core.state import State
from pulse_core.testing.fixtures import wait_until
from pulse_core.web import ws as ws_module
from pulse_core.web.ws import CLOSE_TOO_SLOW, RESYNC, WebSocketClient, WebSocketHub

MAX_MESSAGE = 16 * 1024 * 1024


def ws_url(daemon: Daemon) -> str:
    return daemon.bound_urls[0].replace("http://", "ws://") + "/ws"


def version_of(message: str | bytes) -> int:
    text = gzip.decompress(message) if isinstance(message, bytes) else message
    return int(json.loads(text)["data"]["stats"]["version"])


class FakeConnection:
    """A client connection for ``WebSocketHub.serve`` that records messages.

    After ``hold()``, each send waits until ``release`` is set.
    """

    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.sending = False
        self.release = trio.Event()
        self.release.set()

    def hold(self) -> None:
        self.release = trio.Event()

    async def send(self, message: str | bytes) -> None:
        self.sending = True
        await self.release.wait()
        self.messages.append(message)
        self.sending = False


async def serve(hub: WebSocketHub, client: WebSocketClient, connection: FakeConnection, done: list[Any]) -> None:
    await hub.serve(client, connection.send)
    done.append(client)


def publish(state: State, hub: WebSocketHub) -> None:
    """Make a new state version and broadcast it, as the daemon does after a poll."""
    state.set_active_alerts([])
    hub.on_poll()


async def test_initial_state_then_update_after_poll(live: Daemon) -> None:
    async with open_websocket_url(ws_url(live), max_message_size=MAX_MESSAGE) as ws:
        first = json.loads(await ws.get_message())
        assert first["type"] == "initialState"
        assert first["data"]["nodes"]
        assert {"vms", "containers", "connectionHealth", "lastUpdate"} <= set(first["data"])

        update = json.loads(await ws.get_message())

        assert update["type"] == "rawData"
        assert update["data"]["stats"]["version"] > first["data"]["stats"]["version"]


async def test_ping_pong_and_resync(live: Daemon) -> None:
    async with open_websocket_url(ws_url(live), max_message_size=MAX_MESSAGE) as ws:
        await ws.get_message()
        await ws.send_message(json.dumps({"type": "ping"}))
        await ws.send_message(json.dumps({"type": "requestData"}))
        kinds: list[str] = []
        resync: dict[str, Any] = {}
        while "pong" not in kinds:
            message = json.loads(await ws.get_message())
            kinds.append(message["type"])
        # The resync is queued after the pong, so the first rawData after it is the reply or a newer update.
        while True:
            message = json.loads(await ws.get_message())
            if message["type"] == "rawData":
                resync = message
                break

    assert resync["data"]["nodes"]
    assert {"vms", "containers", "connectionHealth"} <= set(resync["data"])


async def test_slow_client_gets_newest_state_only() -> None:
    state = State()
    hub = WebSocketHub(state)
    client = hub.register("198.51.100.1")
    connection = FakeConnection()
    connection.hold()
    done: list[Any] = []

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve, hub, client, connection, done)
        await wait_until(lambda: connection.sending)
        for _ in range(4):
            publish(state, hub)
            await trio.testing.wait_all_tasks_blocked()
        connection.release.set()
        await wait_until(lambda: len(connection.messages) == 2)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()

    initial, update = connection.messages
    assert json.loads(initial)["type"] == "initialState"
    assert json.loads(update)["type"] == "rawData"
    assert version_of(update) == state.version
    assert hub.skipped == 3
    assert hub.broadcasts == 4
    assert client.dropped is False
    assert hub.dropped == 0


async def test_slow_reader_never_gets_older_state(live: Daemon) -> None:
    hub: WebSocketHub = live.app.extensions["pulse_ws_hub"]
    async with open_websocket_url(ws_url(live), message_queue_size=0, max_message_size=MAX_MESSAGE) as ws:
        versions = [version_of(await ws.get_message())]
        await wait_until(lambda: bool(hub.clients))
        # Bursts of updates with no checkpoint in between: the client's sender can take only the last one.
        for _ in range(5):
            for _ in range(4):
                publish(live.state, hub)
            versions.append(version_of(await ws.get_message()))
        newest = live.state.version
        while versions[-1] < newest:
            versions.append(version_of(await ws.get_message()))

        assert versions == sorted(set(versions))
        assert hub.skipped >= 15
        assert hub.dropped == 0
        assert len(hub.clients) == 1


async def test_stalled_client_dropped_after_stall_time(autojump_clock: trio.testing.MockClock) -> None:
    state = State()
    hub = WebSocketHub(state, stall_seconds=30)
    stalled = hub.register("198.51.100.1")
    reader = hub.register("198.51.100.2")
    stalled_connection = FakeConnection()
    reader_connection = FakeConnection()
    done: list[Any] = []

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve, hub, stalled, stalled_connection, done)
        nursery.start_soon(serve, hub, reader, reader_connection, done)
        await wait_until(lambda: len(stalled_connection.messages) == 1)
        stalled_connection.hold()
        publish(state, hub)
        await trio.sleep(29)
        assert stalled.dropped is False
        for _ in range(5):
            publish(state, hub)
            await trio.sleep(1)
        nursery.cancel_scope.cancel()

    assert stalled.dropped is True
    assert hub.dropped == 1
    assert done == [stalled]
    assert stalled not in hub.clients
    assert reader.dropped is False
    assert reader in hub.clients
    assert len(reader_connection.messages) == 7
    assert version_of(reader_connection.messages[-1]) == state.version


async def test_stalled_connection_closed_with_1013(live: Daemon) -> None:
    hub: WebSocketHub = live.app.extensions["pulse_ws_hub"]
    # The stall time is short so the test does not wait a minute; the clock is real because the sockets are.
    hub.stall_seconds = 0.5
    reader_versions: list[int] = []

    async def read(ws: WebSocketConnection) -> None:
        while True:
            reader_versions.append(version_of(await ws.get_message()))

    async with open_websocket_url(ws_url(live), max_message_size=MAX_MESSAGE) as reader, open_websocket_url(
        ws_url(live), message_queue_size=0, max_message_size=MAX_MESSAGE
    ) as stalled:
        await stalled.get_message()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read, reader)
            await wait_until(lambda: len(hub.clients) == 2)
            # The stalled client reads nothing more, so its TCP buffers fill up and a send stops completing.
            for _ in range(3000):
                if hub.dropped:
                    break
                publish(live.state, hub)
                await trio.sleep(0.01)
            assert hub.dropped == 1
            assert len(hub.clients) == 1

            publish(live.state, hub)
            newest = live.state.version
            await wait_until(lambda: bool(reader_versions) and reader_versions[-1] >= newest)
            nursery.cancel_scope.cancel()

        # Once the client reads again the blocked send completes and the close frame follows the data.
        code = await close_code(stalled)

    assert code == CLOSE_TOO_SLOW
    assert hub.dropped == 1


async def close_code(ws: WebSocketConnection) -> int | None:
    while True:
        try:
            await ws.get_message()
        except ConnectionClosed as closed:
            return closed.reason.code


async def test_ping_pong_while_updates_stream(live: Daemon) -> None:
    hub: WebSocketHub = live.app.extensions["pulse_ws_hub"]
    async with open_websocket_url(ws_url(live), max_message_size=MAX_MESSAGE) as ws:
        await ws.get_message()
        await wait_until(lambda: bool(hub.clients))
        pongs: list[float] = []
        for _ in range(10):
            await ws.send_message(json.dumps({"type": "ping"}))
            publish(live.state, hub)
            publish(live.state, hub)
        while len(pongs) < 10:
            message = json.loads(await ws.get_message())
            if message["type"] == "pong":
                pongs.append(message["timestamp"])

    assert pongs == sorted(pongs)
    assert hub.dropped == 0


async def test_request_flood_is_slowed_not_dropped(live: Daemon) -> None:
    hub: WebSocketHub = live.app.extensions["pulse_ws_hub"]
    requests = 3 * hub.max_pending_replies
    async with open_websocket_url(ws_url(live), message_queue_size=0, max_message_size=MAX_MESSAGE) as ws:
        await ws.get_message()
        for _ in range(requests):
            await ws.send_message(json.dumps({"type": "ping"}))
        pongs = 0
        while pongs < requests:
            if json.loads(await ws.get_message())["type"] == "pong":
                pongs += 1

    assert pongs == requests
    assert hub.dropped == 0


async def test_reply_queue_is_bounded() -> None:
    hub = WebSocketHub(State(), max_pending_replies=4)
    client = hub.register("198.51.100.1")
    connection = FakeConnection()
    connection.hold()
    queued: list[int] = []
    done: list[Any] = []

    async def flood() -> None:
        for index in range(10):
            await hub.reply(client, RESYNC if index % 2 else f'{{"type":"pong","timestamp":{index}}}')
            queued.append(index)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve, hub, client, connection, done)
        nursery.start_soon(flood)
        await trio.testing.wait_all_tasks_blocked()
        assert len(queued) == 4

        publish(hub.state, hub)
        connection.release.set()
        await wait_until(lambda: len(queued) == 10)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()

    kinds = [json.loads(message)["type"] for message in connection.messages]
    assert kinds[0] == "initialState"
    # Replies keep their order and are never replaced by the pending update.
    assert kinds[1:11] == ["pong", "rawData"] * 5
    assert [json.loads(message)["timestamp"] for message in connection.messages[1:11:2]] == [0, 2, 4, 6, 8]
    assert client.dropped is False


async def test_gzip_built_once_per_version(monkeypatch: Any) -> None:
    state = State()
    hub = WebSocketHub(state)
    connections = [FakeConnection() for _ in range(20)]
    clients = [hub.register(f"198.51.100.{index}", compressed=True) for index in range(20)]
    done: list[Any] = []

    async with trio.open_nursery() as nursery:
        for client, connection in zip(clients, connections):
            nursery.start_soon(serve, hub, client, connection, done)
        await wait_until(lambda: all(len(connection.messages) == 1 for connection in connections))
        calls: list[int] = []
        compress = gzip.compress

        def counting_compress(data: bytes, compresslevel: int = 9) -> bytes:
            calls.append(len(data))
            return compress(data, compresslevel)

        monkeypatch.setattr(ws_module.gzip, "compress", counting_compress)
        publish(state, hub)
        await wait_until(lambda: all(len(connection.messages) == 2 for connection in connections))
        nursery.cancel_scope.cancel()

    updates = [connection.messages[1] for connection in connections]
    assert len(calls) == 1
    assert all(update is updates[0] for update in updates)
    assert version_of(updates[0]) == state.version


async def test_broadcast_reuses_one_message_per_version() -> None:
    state = State()
    hub = WebSocketHub(state)

    first = hub.update_message()
    again = hub.update_message()
    state.set_active_alerts([])
    changed = hub.update_message()

    assert first is again
    assert changed is not first


async def test_skipped_updates_in_health_and_metrics(live: Daemon) -> None:
    hub: WebSocketHub = live.app.extensions["pulse_ws_hub"]
    async with open_websocket_url(ws_url(live), max_message_size=MAX_MESSAGE) as ws, httpx.AsyncClient(
        base_url=live.bound_urls[0], timeout=30
    ) as http:
        await ws.get_message()
        await wait_until(lambda: bool(hub.clients))
        for _ in range(3):
            publish(live.state, hub)
        health = (await http.get("/api/health")).json()
        metrics = (await http.get("/metrics")).text

    assert health["websocket"]["skipped"] == hub.skipped
    assert hub.skipped >= 2
    skipped_lines = [line for line in metrics.splitlines() if line.startswith("pulse_websocket_skipped_updates_total ")]
    assert len(skipped_lines) == 1
    assert float(skipped_lines[0].split()[1]) >= 2


async def test_auth_required_for_ws_when_configured(live_factory: Any) -> None:
    from trio_websocket import HandshakeError

    daemon = await live_factory(nodes=[], overrides={"auth.api_token": "t" * 32})
    try:
        async with open_websocket_url(ws_url(daemon)):
            raise AssertionError("the handshake should have been rejected")
    except HandshakeError as exc:
        assert getattr(exc, "status_code", 401) in (401, 403)


async def test_gzip_encoding_sends_compressed_frames(live: Daemon) -> None:
    async with open_websocket_url(ws_url(live) + "?encoding=gzip", max_message_size=MAX_MESSAGE) as ws:
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
