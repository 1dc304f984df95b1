"""Run Pulse and the simulator on a Trio loop in a background thread, for browser tests and the UI benchmark.

Playwright's sync API blocks the calling thread, so the daemon cannot share the
test's event loop. ``LivePulse`` starts its own ``trio.run`` in a thread and
offers ``call`` to run a function on that loop, e.g. to change the simulator.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
UI_INDEX = REPO / "pulse_core" / "web" / "static" / "dist" / "index.html"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def skip_reason() -> str | None:
    """Return why browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing; install Debian's chromium package"
    if not UI_INDEX.exists():
        return f"the web UI is not built ({UI_INDEX} is missing); run `make build-ui`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing; install the test extra"
    return None


# Generous hang guards for page expectations: the daemon polls every second or two, but CI machines can be slow.
WAIT_MS = 30_000


def expect(target: Any) -> Any:
    """Return Playwright's ``expect`` for ``target``, imported only when browser tests run."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def open_page(page: Any, live: Any, route: str = "overview") -> None:
    """Open ``route`` of the live daemon's UI and wait until its WebSocket is connected."""
    page.goto(f"{live.url}/#/{route}")
    expect(page.locator("[data-connection='connected']")).to_be_visible(timeout=WAIT_MS)


def wait_for_guests(page: Any) -> None:
    """Wait until the guest table shows guests.

    A Python-side wait: the page's CSP forbids the string evaluation that ``wait_for_function`` uses.
    """
    expect(page.locator("#guest-count")).to_have_attribute("data-total", re.compile(r"^[1-9][0-9]*$"), timeout=WAIT_MS)


def open_add_node_form(page: Any, live: Any) -> Any:
    """Open Settings → Nodes, press Add node and return the form."""
    open_page(page, live, "settings/nodes")
    page.get_by_role("button", name="Add node").click()
    return page.get_by_role("form", name="Add node")


def open_running_guest(page: Any, live: Any) -> tuple[Any, Any]:
    """Open the detail panel of the lowest-numbered running guest; return the guest (from the simulator) and the panel."""
    vmid = min(g.vmid for g in live.sim.state.guests.values() if g.status == "running" and not g.template)
    guest = live.sim.state.guests[vmid]
    open_page(page, live)
    wait_for_guests(page)
    page.get_by_label("Search guests").fill(f"vmid:{guest.vmid}")
    page.locator(".guest-row .link-button").first.click()
    drawer = page.get_by_role("dialog")
    expect(drawer).to_contain_text(guest.name)
    return guest, drawer


def open_running_guest_chart(page: Any, live: Any) -> tuple[Any, Any, Any]:
    """Open the detail panel of the lowest-numbered running guest and wait until its chart has points.

    Returns the guest (from the simulator), the panel and the chart element.
    """
    guest, drawer = open_running_guest(page, live)
    # The history needs a poll or two, so the range is reopened until the chart has points.
    canvas = drawer.locator(".chart-canvas").first
    for _ in range(30):
        if canvas.count() and int(canvas.get_attribute("data-points") or 0) > 0:
            break
        page.wait_for_timeout(1000)
        drawer.get_by_role("button", name="24h").click()
        drawer.get_by_role("button", name="1h").click()
    expect(canvas.locator("canvas")).to_be_visible()
    return guest, drawer, canvas


def free_port() -> int:
    """Return a currently free TCP port on 127.0.0.1 (the configuration rejects port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LivePulse:
    """A simulator and a daemon polling it, served on 127.0.0.1 from a background Trio loop."""

    def __init__(
        self,
        scenario: Any = None,
        env: dict[str, str] | None = None,
        poll_seconds: float = 2.0,
        extra_connection: str | None = None,
    ) -> None:
        # extra_connection: the id of a second PVE connection to the same simulator, so two
        # connections report nodes of the same names (as two clusters that both have a "pve1").
        self._scenario = scenario
        self._extra_connection = extra_connection
        self._env = env or {}
        self._poll_seconds = poll_seconds
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._data_dir = Path(tempfile.mkdtemp(prefix="pulse-browser-"))
        self.url = ""
        self.sim: Any = None
        self.daemon: Any = None

    def __enter__(self) -> LivePulse:
        self._thread = threading.Thread(target=self._run, name="pulse-live", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("Pulse did not start within 60 s")
        if self._error is not None:
            raise RuntimeError("Pulse failed to start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None and self._stop is not None:
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        if self._thread is not None:
            self._thread.join(30)
        shutil.rmtree(self._data_dir, ignore_errors=True)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` on the daemon's Trio loop and return its result."""
        assert self._token is not None
        return trio.from_thread.run_sync(function, *args, trio_token=self._token)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the waiting test thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        from pulse_core.simulator import Scenario, open_simulator
        from pulse_core.testing.fixtures import base_url, simulator_nodes, start_daemon

        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        scenario = self._scenario if self._scenario is not None else Scenario.demo()
        async with open_simulator(scenario) as sim, trio.open_nursery() as nursery:
            nodes = simulator_nodes(sim)
            if self._extra_connection:
                pve = next(node for node in nodes if node["type"] == "pve")
                nodes.append({**pve, "id": self._extra_connection, "name": self._extra_connection})
            daemon = await start_daemon(
                nursery,
                self._data_dir,
                nodes=nodes,
                env=self._env,
                overrides={"polling.interval_seconds": self._poll_seconds, "server.port": free_port()},
            )
            self.sim = sim
            self.daemon = daemon
            self.url = base_url(daemon)
            self._ready.set()
            await self._stop.wait()
            daemon.request_shutdown()
