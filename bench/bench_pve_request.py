"""Benchmark: CPU of one small HTTPS GET to the PVE simulator, by client layer.

Measures ``GET /nodes/{node}/status`` (under 1 KiB of JSON) on one kept-alive
connection, one request at a time, with ``time.process_time`` in this process
(the simulator runs in its own process):

* ``PVEClient``: Pulse's client (auth headers, status mapping, orjson decoding)
  over httpx with its default httpcore transport.
* ``httpx``: a bare ``httpx.AsyncClient`` with the default transport.
* ``httpx + h11 transport``: the same client over a minimal
  ``httpx.AsyncBaseTransport`` that writes h11 events to one Trio TLS stream.
  It has no timeouts, pooling or error mapping: it is the lower bound of what a
  custom transport could cost, used to decide whether writing one pays.
* ``bare TLS``: the same request bytes written to a Trio TLS stream and the
  response read up to its ``Content-Length``, without any HTTP library.

Rounds alternate between the clients, so load from other processes affects
all of them alike. Run from the repository root:

    .venv/bin/python bench/bench_pve_request.py [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import ssl
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import h11
import httpx
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pve_poll import start_simulator  # noqa: E402

from pulse_pve.client import PVEClient, TLSPolicy, TokenAuth, normalize_host  # noqa: E402

PATH = "/nodes/pve1/status"


class MinimalH11Transport(httpx.AsyncBaseTransport):
    """One TLS connection with requests written as h11 events, for measurement only."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self._stream: trio.SSLStream[trio.SocketStream] | None = None
        self._connection = h11.Connection(h11.CLIENT)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._stream is None:
            tcp = await trio.open_tcp_stream(request.url.host, request.url.port or 443)
            self._stream = trio.SSLStream(tcp, self._context, server_hostname=None)
            await self._stream.do_handshake()
        connection = self._connection
        if connection.our_state is h11.DONE:
            connection.start_next_cycle()
        data = connection.send(h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw))
        data += connection.send(h11.EndOfMessage())
        await self._stream.send_all(data)
        head: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await self._stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
        assert head is not None
        return httpx.Response(head.status_code, headers=head.headers, content=b"".join(chunks), request=request)

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()


async def bare_tls_client(host: str, port: int, context: ssl.SSLContext, authorization: str) -> Callable[[], Awaitable[None]]:
    """Return a coroutine function that sends one GET and reads its response on a bare TLS stream."""
    stream = trio.SSLStream(await trio.open_tcp_stream(host, port), context, server_hostname=None)
    await stream.do_handshake()
    request = (
        f"GET /api2/json{PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {authorization}\r\n\r\n"
    ).encode()

    async def get() -> None:
        await stream.send_all(request)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += await stream.receive_some(65536)
        head, _, body = buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += await stream.receive_some(65536)

    return get


async def measure(info: dict[str, str], requests: int, rounds: int) -> dict[str, list[float]]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    authorization = f"PVEAPIToken={info['user']}!{info['token_name']}={info['token_value']}"
    address = normalize_host(info["url"])
    base_url = f"{info['url']}/api2/json"
    pulse = PVEClient(
        address, TokenAuth(info["user"], info["token_name"], info["token_value"]),
        TLSPolicy("pinned", info["fingerprint"]),
    )
    plain = httpx.AsyncClient(base_url=base_url, verify=context, headers={"Authorization": authorization})
    minimal = httpx.AsyncClient(
        base_url=base_url, transport=MinimalH11Transport(context), headers={"Authorization": authorization}
    )
    bare = await bare_tls_client(address.host, address.port, context, authorization)

    async def httpx_get(client: httpx.AsyncClient) -> None:
        response = await client.get(PATH)
        assert response.status_code == 200, response.status_code

    clients: dict[str, Callable[[], Awaitable[object]]] = {
        "PVEClient": lambda: pulse.get(PATH),
        "httpx": lambda: httpx_get(plain),
        "httpx + h11 transport": lambda: httpx_get(minimal),
        "bare TLS": bare,
    }
    medians: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, get in clients.items():
            for _ in range(20):
                await get()
            times = []
            for _ in range(requests):
                start = time.process_time()
                await get()
                times.append(time.process_time() - start)
            medians[name].append(statistics.median(times))
    await pulse.aclose()
    await plain.aclose()
    await minimal.aclose()
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per client and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds over all clients")
    args = parser.parse_args()
    process, info = start_simulator(3, 100)
    try:
        medians = trio.run(measure, info, args.requests, args.rounds)
    finally:
        process.terminate()
        process.wait(timeout=10)
    reference = statistics.median(medians["httpx"])
    for name, values in medians.items():
        value = statistics.median(values)
        rounds = ", ".join(f"{item * 1e6:.0f}" for item in values)
        print(f"{name:24s} {value * 1e6:6.0f} us per request ({value / reference:.2f}x httpx; rounds: {rounds})")


if __name__ == "__main__":
    main()
