"""End-to-end: the dashboard in headless Chromium against a daemon polling the simulator."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pulse_browser_harness import (
    WAIT_MS,
    expect,
    open_add_node_form,
    open_page,
    open_running_guest_chart,
    wait_for_guests,
)

pytestmark = pytest.mark.browser


def shown_count(page: Any) -> int:
    return int(page.locator("#guest-count").get_attribute("data-shown"))


class Receiver:
    """A webhook receiver on 127.0.0.1 that records requests and replies with a fixed body."""

    ANSWER = "received by the test receiver"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append({"path": self.path, "body": self.rfile.read(length).decode()})
                body = receiver.ANSWER.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_login_with_password(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    env = {"PULSE_AUTH_USER": "admin", "PULSE_AUTH_PASS": "correct horse battery"}
    with live_pulse_class(env=env) as live:
        page.goto(f"{live.url}/")
        expect(page.get_by_label("Username")).to_be_visible(timeout=WAIT_MS)
        shoot(page, "login")

        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("invalid username or password")
        # The server's message leads; the request and status stay available for debugging.
        expect(alert.locator(".error-message")).to_have_text("invalid username or password")
        expect(alert).to_have_attribute("title", "POST /api/login failed (401)")

        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        wait_for_guests(page)
        expect(page.locator(".node-card")).to_have_count(len(live.sim.state.nodes))
        expect(page.get_by_role("button", name="Log out admin")).to_be_visible()
        # With a password set, the first-run banner stays away.
        expect(page.get_by_role("region", name="Security recommendation")).to_have_count(0)

        # A session that ends on the server side brings the login form back on the next request.
        page.context.clear_cookies()
        page.goto(f"{live.url}/#/settings/nodes")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT_MS)

        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Log out admin").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert not [cookie for cookie in page.context.cookies() if cookie["name"] == "pulse_session"]


def test_overview_shows_nodes_and_guests(live_pulse: Any, page: Any, shoot: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    names = sorted(live_pulse.sim.state.nodes)
    expect(page.locator(".node-card")).to_have_count(len(names))
    for name in names:
        expect(page.locator(f".node-card[data-node='{name}']")).to_be_visible()
    total = len(live_pulse.sim.state.guests)
    expect(page.locator("#guest-count")).to_have_attribute("data-total", str(total))
    expect(page.get_by_role("region", name="Security recommendation")).to_be_visible()
    # Only the rows in view are rendered, never more than the guests there are.
    assert page.locator(".guest-row").count() <= total
    shoot(page, "overview")


def test_same_node_names_told_apart(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    # A second connection to the same simulator: two connections that both report pve1, pve2, ...
    with live_pulse_class(extra_connection="lab") as live:
        sim = live.sim
        node = sorted(sim.state.nodes)[0]
        page.set_viewport_size({"width": 1440, "height": 900})
        open_page(page, live)
        wait_for_guests(page)

        cards = page.locator(f".node-card[data-node='{node}']")
        expect(cards).to_have_count(2)
        expect(page.locator(f".node-card[data-node='{node}'][data-instance='lab']")).to_contain_text(f"{node} · lab")
        expect(page.locator(f".node-card[data-node='{node}'][data-instance='demo']")).to_contain_text(f"{node} · demo")

        guest = next(g for g in sim.state.guests.values() if g.status == "running" and not g.template)
        page.get_by_label("Search guests").fill(f"vmid:{guest.vmid}")
        expect(page.locator(".guest-row")).to_have_count(2)
        node_cells = sorted(page.locator(".guest-row .cell-node").all_inner_texts())
        assert node_cells == [f"{guest.node} · demo", f"{guest.node} · lab"]

        lab_row = page.locator(".guest-row").filter(has=page.locator(".cell-node", has_text="· lab"))
        lab_row.locator(".link-button").click()
        drawer = page.get_by_role("dialog")
        expect(drawer.locator("dd").filter(has_text=re.compile("^lab, cluster "))).to_have_count(1)
        expect(drawer).to_contain_text(f"{guest.node} · lab")
        page.keyboard.press("Escape")
        page.get_by_label("Search guests").fill("")

        # The rate columns fit compact figures at 1440 px once traffic is flowing.
        for _ in range(3):
            live.call(sim.control.advance, 15)
            page.wait_for_timeout(1200)
        expect(page.locator(".guest-row .cell-netin").filter(has_text=re.compile(r"[KMG]iB/s")).first).to_be_visible(timeout=WAIT_MS)
        scroller = page.locator(".grid-scroller")
        assert scroller.evaluate("element => element.scrollWidth <= element.clientWidth")
        for column in ("netin", "netout", "diskread", "diskwrite", "node"):
            clipped = page.locator(f".guest-row .cell-{column}").evaluate_all(
                "cells => cells.filter(cell => cell.scrollWidth > cell.clientWidth).map(cell => cell.textContent)"
            )
            assert clipped == [], f"{column} cells cut off: {clipped}"
        shoot(page, "overview-two-connections")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Storage").click()
        local_names = sorted(s.name for (n, _), s in sim.state.storages.items() if n == node and not s.spec.shared)
        section = page.get_by_role("region", name=f"Node {node} · lab")
        expect(section).to_be_visible(timeout=WAIT_MS)
        expect(section.locator("tbody tr")).to_have_count(len(local_names))
        assert sorted(section.locator("tbody td:first-child .link-button").all_inner_texts()) == local_names
        shoot(page, "storage-two-connections")

        with httpx.Client(base_url=live.url, timeout=30) as client:
            response = client.post(
                "/api/notifications/thresholds",
                json={"defaultDelaySeconds": 0, "node": {"cpu": {"trigger": 0.01, "clear": 0.005, "delaySeconds": 0}}},
            )
            assert response.status_code == 200, response.text
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
        resources = page.locator("tr[data-alert-id] td:nth-child(3)")
        expect(resources.filter(has_text=re.compile(f"^{node} · lab$"))).to_have_count(1, timeout=WAIT_MS)
        assert not [text for text in resources.all_inner_texts() if text.startswith(f"{node} on ")]
        shoot(page, "alerts-two-connections")


def test_stopped_guest_shows_dashes(live_pulse: Any, page: Any) -> None:
    stopped = next(g for g in live_pulse.sim.state.guests.values() if g.status == "stopped")
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.get_by_label("Search guests").fill(f"vmid:{stopped.vmid}")
    row = page.locator(f".guest-row").first
    expect(row).to_contain_text(stopped.name)
    for column in ("cpu", "memory", "disk", "netin", "diskwrite", "uptime"):
        cell = row.locator(f".cell-{column} .not-running")
        expect(cell).to_have_attribute("title", "guest is stopped")
    expect(row.locator(".unknown")).to_have_count(0)


def test_filters_and_search_narrow_table(live_pulse: Any, page: Any, shoot: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    guests = list(live_pulse.sim.state.guests.values())
    node = sorted(live_pulse.sim.state.nodes)[0]

    search = page.get_by_label("Search guests")
    search.fill(f"node:{node}")
    expect(page.locator("#guest-count")).to_have_attribute("data-shown", str(sum(g.node == node for g in guests)))

    search.fill(f"node:{node} -type:vm")
    expected = sum(g.node == node and g.type == "lxc" for g in guests)
    expect(page.locator("#guest-count")).to_have_attribute("data-shown", str(expected))

    search.fill("colour:red")
    expect(page.locator("#search-errors")).to_contain_text('unknown field "colour"')

    search.fill("")
    page.get_by_label("Type").select_option("lxc")
    expect(page.locator("#guest-count")).to_have_attribute("data-shown", str(sum(g.type == "lxc" for g in guests)))
    assert shown_count(page) < len(guests)

    page.get_by_label("Status", exact=True).select_option("running")
    running_cts = sum(g.type == "lxc" and g.status == "running" for g in guests)
    expect(page.locator("#guest-count")).to_have_attribute("data-shown", str(running_cts))
    page.get_by_label("Group by node").check()
    expect(page.locator(".group-row").first).to_be_visible()
    shoot(page, "overview-filtered")

    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator("#guest-count")).to_have_attribute("data-shown", str(len(guests)))


def test_sorting_by_column(live_pulse: Any, page: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.get_by_role("button", name="VMID").click()
    expect(page.get_by_role("columnheader", name="VMID")).to_have_attribute("aria-sort", "ascending")
    first = page.locator(".guest-row .cell-vmid").first.inner_text()
    assert int(first) == min(live_pulse.sim.state.guests)
    page.get_by_role("button", name="VMID").click()
    expect(page.get_by_role("columnheader", name="VMID")).to_have_attribute("aria-sort", "descending")
    expect(page.locator(".guest-row .cell-vmid").first).to_have_text(str(max(live_pulse.sim.state.guests)))


def test_detail_chart_draws_data(live_pulse: Any, page: Any, shoot: Any) -> None:
    _, _, canvas = open_running_guest_chart(page, live_pulse)
    assert int(canvas.get_attribute("data-points")) > 0
    shoot(page, "detail-drawer")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)


# Records the text uPlot draws on each chart canvas, with its box in canvas pixels, because
# canvas text has no DOM elements to measure. A full clearRect starts a new frame.
RECORD_CHART_TEXT = """
(() => {
  const proto = CanvasRenderingContext2D.prototype;
  const fillText = proto.fillText;
  const clearRect = proto.clearRect;
  window.chartText = new Map();
  proto.clearRect = function (x, y, width, height) {
    if (width >= this.canvas.width && height >= this.canvas.height) window.chartText.set(this.canvas, []);
    return clearRect.call(this, x, y, width, height);
  };
  proto.fillText = function (text, x, y, ...rest) {
    const frame = window.chartText.get(this.canvas);
    if (frame) frame.push({ text: String(text), x, y, align: this.textAlign, width: this.measureText(text).width });
    return fillText.call(this, text, x, y, ...rest);
  };
})();
"""

TIME_LABEL = re.compile(r"^\d{1,2}:\d{2}(am|pm)?$", re.IGNORECASE)


def time_label_boxes(page: Any) -> list[tuple[str, float, float, float]]:
    """Return (text, left, right, y) for each time label on the first chart's x axis."""
    drawn = page.evaluate(
        "() => (window.chartText.get(document.querySelector('.chart-canvas canvas')) || [])"
    )
    boxes = []
    for label in drawn:
        if not TIME_LABEL.match(label["text"]):
            continue
        if label["align"] == "center":
            left = label["x"] - label["width"] / 2
        elif label["align"] in ("right", "end"):
            left = label["x"] - label["width"]
        else:
            left = label["x"]
        boxes.append((label["text"], left, left + label["width"], label["y"]))
    return boxes


def two_digit_hour_zone() -> str:
    """Return an Etc/GMT zone whose local time is 11:xx now, so every 1h label has a two-digit hour."""
    offset = (11 - time.gmtime().tm_hour) % 24
    if offset > 14:
        offset -= 24
    # POSIX-style names invert the sign: Etc/GMT-9 is UTC+9.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.mark.parametrize("width", [1400, 1000, 700])
def test_chart_time_labels_separate(live_pulse: Any, browser: Any, width: int) -> None:
    # The widest labels ("12:45am") come from two-digit hours, so the browser runs in a zone
    # where the last hour has them.
    context = browser.new_context(viewport={"width": width, "height": 900}, timezone_id=two_digit_hour_zone())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_CHART_TEXT)
    open_running_guest_chart(page, live_pulse)

    boxes: list[tuple[str, float, float, float]] = []
    for _ in range(20):
        boxes = time_label_boxes(page)
        if len(boxes) >= 2:
            break
        page.wait_for_timeout(250)
    assert len(boxes) >= 2, f"expected at least two time labels on the x axis, got {boxes}"
    boxes.sort(key=lambda box: (box[3], box[1]))
    for before, after in zip(boxes, boxes[1:]):
        if before[3] != after[3]:
            continue
        assert before[2] <= after[1], f"time labels {before[0]!r} and {after[0]!r} overlap at width {width}: {boxes}"
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_node_drawer_and_storage_trend(live_pulse: Any, page: Any, shoot: Any) -> None:
    node = sorted(live_pulse.sim.state.nodes)[0]
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.locator(f".node-card[data-node='{node}']").get_by_role("button", name=node).click()
    drawer = page.get_by_role("dialog", name=f"Node {node}")
    expect(drawer).to_contain_text("PVE version")
    expect(drawer.locator("figure.chart").first).to_be_visible()
    shoot(page, "node-drawer")
    drawer.get_by_role("button", name="Close details").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Storage").click()
    page.locator("table button.link-button").first.click()
    expect(page.get_by_role("heading", name=re.compile("^Trend: "))).to_be_visible()
    expect(page.locator("figure.chart")).to_be_visible(timeout=WAIT_MS)
    shoot(page, "storage-trend")


def test_keyboard_only_use(live_pulse: Any, page: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    page.get_by_role("button", name="Node", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("columnheader", name="Node")).to_have_attribute("aria-sort", "ascending")

    name = page.locator(".guest-row .link-button").first
    name.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(name).to_be_focused()

    page.goto(f"{live_pulse.url}/#/settings/nodes")
    page.get_by_role("tab", name="Nodes").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Notifications")).to_be_focused()
    expect(page.get_by_role("tab", name="Notifications")).to_have_attribute("aria-selected", "true")


def test_threshold_saved_from_form(live_pulse: Any, page: Any) -> None:
    open_page(page, live_pulse, "settings/thresholds")
    form = page.get_by_role("form", name="Alert thresholds")
    field = form.locator("#threshold-node-memory-trigger")
    expect(field).to_be_visible(timeout=WAIT_MS)
    expect(form.locator("legend", has_text=re.compile("^CPU$"))).to_have_count(2)
    expect(form.locator("legend", has_text=re.compile("^GC failed$"))).to_have_count(1)
    node_cpu = form.locator("#threshold-node-cpu-trigger").locator("xpath=ancestor::fieldset[1]")
    assert node_cpu.locator("input[type=number]").first.get_attribute("id") == "threshold-node-cpu-trigger"
    quiet = form.locator("#threshold-noise-quietHours-start").locator("xpath=ancestor::fieldset[1]")
    assert [item.get_attribute("id") for item in quiet.locator("input[type=text]").all()][:2] == [
        "threshold-noise-quietHours-start",
        "threshold-noise-quietHours-end",
    ]
    field.fill("93")
    form.get_by_role("button", name="Save thresholds").click()
    expect(form.get_by_role("status")).to_contain_text("Thresholds saved.")
    with httpx.Client(base_url=live_pulse.url, timeout=30) as client:
        saved = client.get("/api/notifications/thresholds").json()
    assert saved["node"]["memory"]["trigger"] == 93

    field.fill("150")
    form.get_by_role("button", name="Save thresholds").click()
    expect(form.get_by_role("alert")).to_contain_text("node.memory.trigger")


def test_simulator_change_appears_live(live_pulse: Any, page: Any) -> None:
    running = sorted(g.vmid for g in live_pulse.sim.state.guests.values() if g.status == "running" and not g.template)
    vmid = running[-1]
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.get_by_label("Search guests").fill(f"vmid:{vmid}")
    status = page.locator(".guest-row .cell-status").first
    expect(status).to_have_text("running")
    page.evaluate("window.__pulseNoReload = true")

    live_pulse.call(live_pulse.sim.control.stop_guest, vmid)
    expect(status).to_have_text("stopped", timeout=WAIT_MS)
    # The same document: the page was updated over the WebSocket, not reloaded.
    assert page.evaluate("window.__pulseNoReload") is True
    live_pulse.call(live_pulse.sim.control.start_guest, vmid)


def test_pages_render(live_pulse: Any, page: Any, shoot: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    for route, heading in [("storage", "Storage"), ("backups", "Backups"), ("pbs", "Proxmox Backup Server"), ("alerts", "Alerts")]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=heading.split()[0] if route != "pbs" else "PBS").click()
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        page.wait_for_timeout(300)
        shoot(page, route)
    for tab in ["notifications", "thresholds", "security", "transfer", "system", "about"]:
        page.goto(f"{live_pulse.url}/#/settings/{tab}")
        expect(page.get_by_role("tab", selected=True)).to_be_visible()
        page.wait_for_timeout(500)
        expect(page.locator(".error-box")).to_have_count(0)
        shoot(page, f"settings-{tab}")


def test_add_node_with_connection_test(live_pulse: Any, page: Any, shoot: Any) -> None:
    sim = live_pulse.sim
    form = open_add_node_form(page, live_pulse)
    form.get_by_label("Name", exact=True).fill("second-cluster")
    form.get_by_label("Host URL").fill(sim.pve_url)
    form.get_by_label("User", exact=True).fill(sim.pve_token["user"])
    form.get_by_label("Token name").fill(sim.pve_token["token_name"])
    form.get_by_label("Token secret").fill(sim.pve_token["token_value"])
    form.get_by_label("Certificate fingerprint (SHA-256)").fill(sim.fingerprint)

    form.get_by_role("button", name="Test connection").click()
    result = form.get_by_test_id("connection-test-result")
    expect(result).to_contain_text("Connection OK", timeout=WAIT_MS)
    shoot(page, "settings-nodes-test")

    form.get_by_role("button", name="Add node").click()
    row = page.locator("tr[data-node-id='second-cluster']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("connected", timeout=WAIT_MS)
    shoot(page, "settings-nodes")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


def test_setup_script_generated(live_pulse: Any, page: Any, shoot: Any) -> None:
    open_page(page, live_pulse, "settings/nodes")
    page.locator("#setup-host").fill("not a url")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_contain_text("Host must be a URL")

    page.locator("#setup-host").fill(live_pulse.sim.pve_url)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("setup-instructions")).to_contain_text("run it there as root")
    expect(page.get_by_test_id("setup-script")).to_contain_text("#!")
    expect(page.get_by_role("button", name="Copy script")).to_be_visible()
    page.get_by_test_id("setup-script").scroll_into_view_if_needed()
    shoot(page, "settings-setup-script")


def test_webhook_test_shows_service_answer(live_pulse: Any, page: Any, receiver: Receiver, shoot: Any) -> None:
    open_page(page, live_pulse, "settings/notifications")
    page.get_by_role("button", name="Add webhook").click()
    form = page.get_by_role("form", name="New webhook")
    form.get_by_label("Name", exact=True).fill("Loopback receiver")
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("Payload template").fill('{"text": "{{.Level}}: {{.Message}}", "value": {{.Value}}}')
    expect(form.get_by_test_id("template-preview")).to_contain_text('"text":')

    form.get_by_role("button", name="Send test").click()
    result = form.get_by_test_id("webhook-test-result")
    expect(result).to_contain_text("status 200", timeout=WAIT_MS)
    expect(result).to_contain_text(Receiver.ANSWER)
    assert receiver.requests, "the receiver got no request"
    assert "text" in json.loads(receiver.requests[-1]["body"])
    shoot(page, "settings-webhook-test")

    form.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_role("table", name="Webhooks")).to_contain_text("Loopback receiver")


def saved_webhook(live: Any, name: str) -> dict[str, Any]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        response = client.get("/api/notifications/webhooks")
    response.raise_for_status()
    data = response.json()
    hooks = data["webhooks"] if isinstance(data, dict) else data
    matches = [hook for hook in hooks if hook["name"] == name]
    assert len(matches) == 1, f"expected one webhook named {name!r}, got {hooks}"
    return matches[0]


def test_webhook_signing_and_rate_limit(live_pulse: Any, page: Any, receiver: Receiver) -> None:
    open_page(page, live_pulse, "settings/notifications")
    page.get_by_role("button", name="Add webhook").click()
    form = page.get_by_role("form", name="New webhook")
    form.get_by_label("Name", exact=True).fill("Signed receiver")
    form.get_by_label("URL").fill(receiver.url)
    expect(form.get_by_label("Rate limit (deliveries per minute)")).to_have_value("30")

    # An out-of-range rate limit is rejected before any request: the browser's range check stops
    # Save, and the form's own check names the allowed range for Send test.
    rate = form.get_by_label("Rate limit (deliveries per minute)")
    rate.fill("601")
    form.get_by_role("button", name="Save webhook").click()
    assert rate.evaluate("input => input.validity.rangeOverflow") is True
    form.get_by_role("button", name="Send test").click()
    expect(form.get_by_role("alert")).to_contain_text("from 1 to 600")
    assert receiver.requests == []

    form.get_by_label("Signing secret", exact=True).fill("receiver-shared-secret")
    form.get_by_label("Rate limit (deliveries per minute)").fill("12")
    form.get_by_role("button", name="Save webhook").click()
    table = page.get_by_role("table", name="Webhooks")
    expect(table).to_contain_text("Signed receiver")
    saved = saved_webhook(live_pulse, "Signed receiver")
    assert saved["hasSigningSecret"] is True
    assert saved["rateLimitPerMinute"] == 12
    assert "receiver-shared-secret" not in json.dumps(saved)

    # Editing without typing a secret keeps the stored one.
    table.get_by_role("row").filter(has_text="Signed receiver").get_by_role("button", name="Edit").click()
    form = page.get_by_role("form", name="Edit webhook Signed receiver")
    expect(form.get_by_label("Signing secret", exact=True)).to_have_value("")
    expect(form.get_by_label("Rate limit (deliveries per minute)")).to_have_value("12")
    form.get_by_label("Rate limit (deliveries per minute)").fill("45")
    form.get_by_role("button", name="Save webhook").click()
    expect(form).to_have_count(0)
    saved = saved_webhook(live_pulse, "Signed receiver")
    assert saved["hasSigningSecret"] is True
    assert saved["rateLimitPerMinute"] == 45

    # The remove box sends an empty secret, which turns signing off.
    table.get_by_role("row").filter(has_text="Signed receiver").get_by_role("button", name="Edit").click()
    form = page.get_by_role("form", name="Edit webhook Signed receiver")
    form.get_by_label("Remove the signing secret").check()
    form.get_by_role("button", name="Save webhook").click()
    expect(form).to_have_count(0)
    saved = saved_webhook(live_pulse, "Signed receiver")
    assert saved["hasSigningSecret"] is False
    assert saved["rateLimitPerMinute"] == 45


def test_email_test_shows_server_answer(live_pulse: Any, page: Any, shoot: Any) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's naming)
            received.append(envelope.content)
            return "250 queued by the test relay"

    # aiosmtpd checks readiness by connecting to the configured port, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        open_page(page, live_pulse, "settings/notifications")
        form = page.get_by_role("form", name="Email settings")
        form.get_by_label("SMTP server").fill("127.0.0.1")
        form.get_by_label("Encryption").select_option("none")
        form.get_by_label("Port").fill(str(port))
        form.get_by_label("From address").fill("pulse@example.test")
        form.get_by_label("Recipients").fill("ops@example.test")
        form.get_by_role("button", name="Send test email").click()
        result = form.get_by_test_id("email-test-result")
        expect(result).to_contain_text("Test delivered", timeout=WAIT_MS)
        expect(result).to_contain_text("queued by the test relay")
        assert len(received) == 1
        shoot(page, "settings-email-test")
    finally:
        controller.stop()


def test_export_then_import(live_pulse: Any, page: Any, shoot: Any, tmp_path: Any) -> None:
    open_page(page, live_pulse, "settings/transfer")
    page.get_by_label("Passphrase", exact=True).first.fill("short")
    page.get_by_role("button", name="Export", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("at least 12 characters")

    page.get_by_label("Passphrase", exact=True).first.fill("browser test passphrase")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export", exact=True).click()
    exported = tmp_path / "pulse-config.json"
    download_info.value.save_as(exported)
    assert "data" in json.loads(exported.read_text())

    page.get_by_label("Export file").set_input_files(str(exported))
    page.locator("#import-passphrase").fill("browser test passphrase")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Configuration imported")).to_be_visible(timeout=WAIT_MS)
    shoot(page, "settings-transfer-imported")


def test_console_url_saved(live_pulse: Any, page: Any) -> None:
    vmid = min(live_pulse.sim.state.guests)
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.get_by_label("Search guests").fill(f"vmid:{vmid}")
    page.locator(".guest-row .link-button").first.click()
    drawer = page.get_by_role("dialog")
    drawer.get_by_label("Custom console URL").fill("ftp://example.test")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer.get_by_role("alert")).to_contain_text("must start with http")

    drawer.get_by_label("Custom console URL").fill("https://console.example.test/")
    drawer.get_by_role("button", name="Save").click()
    expect(drawer.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator(".guest-row .link-button").first.click()
    expect(page.get_by_role("dialog").get_by_role("link", name=re.compile("console.example.test"))).to_be_visible()


def test_acknowledge_alert(live_pulse: Any, page: Any, shoot: Any) -> None:
    # Low guest CPU thresholds make every running guest alert within a poll or two.
    with httpx.Client(base_url=live_pulse.url, timeout=30) as client:
        response = client.post(
            "/api/notifications/thresholds",
            json={"defaultDelaySeconds": 0, "guest": {"cpu": {"trigger": 0.01, "clear": 0.005, "delaySeconds": 0}}},
        )
        assert response.status_code == 200, response.text
    open_page(page, live_pulse, "alerts")
    first = page.locator("tr[data-alert-id]").first
    expect(first).to_be_visible(timeout=WAIT_MS)
    alert_id = first.get_attribute("data-alert-id")
    row = page.locator(f"tr[data-alert-id='{alert_id}']")
    expect(row).to_contain_text("open")
    row.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(row).to_contain_text("acknowledged", timeout=WAIT_MS)
    shoot(page, "alerts-acknowledged")
    acknowledged = live_pulse.call(lambda: [a.id for a in live_pulse.daemon.state.active_alerts if a.acknowledged])
    assert alert_id in acknowledged


def test_phone_width_and_dark_theme(live_pulse: Any, browser: Any, shoot: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    try:
        open_page(page, live_pulse)
        wait_for_guests(page)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        # Nothing but the guests table scrolls sideways at phone width.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shoot(page, "overview-phone-dark")
    finally:
        context.close()


def test_disconnected_state_visible(live_pulse: Any, page: Any, shoot: Any) -> None:
    # Route the page's WebSocket through Playwright so the test can drop it and refuse reconnects.
    sockets: list[Any] = []
    refuse = {"on": False}

    def handle(socket: Any) -> None:
        if refuse["on"]:
            socket.close(code=1011, reason="refused by the test")
            return
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws(\?|$)"), handle)
    open_page(page, live_pulse)
    wait_for_guests(page)

    # Plain JSON frames unless this browser opted into gzip.
    assert "encoding=gzip" not in sockets[-1].url
    refuse["on"] = True
    sockets[-1].close(code=1006, reason="dropped by the test")
    expect(page.locator("[data-connection='disconnected']")).to_be_visible(timeout=WAIT_MS)
    banner = page.get_by_role("alert").filter(has_text="Disconnected")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Reconnecting in")
    shoot(page, "disconnected")

    refuse["on"] = False
    banner.get_by_role("button", name="Retry now").click()
    expect(page.locator("[data-connection='connected']")).to_be_visible(timeout=WAIT_MS)


def test_gzip_updates_opt_in(live_pulse: Any, page: Any) -> None:
    urls: list[str] = []

    def handle(socket: Any) -> None:
        urls.append(socket.url)
        socket.connect_to_server()

    page.route_web_socket(re.compile(r"/ws(\?|$)"), handle)
    open_page(page, live_pulse, "settings/system")
    page.get_by_label(re.compile("^Compress live updates")).check()
    expect(page.locator("[data-connection='connected']")).to_be_visible(timeout=WAIT_MS)
    assert "encoding=gzip" in urls[-1]

    # The gzip path still delivers live changes.
    running = sorted(g.vmid for g in live_pulse.sim.state.guests.values() if g.status == "running" and not g.template)
    vmid = running[0]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    wait_for_guests(page)
    page.get_by_label("Search guests").fill(f"vmid:{vmid}")
    status = page.locator(".guest-row .cell-status").first
    expect(status).to_have_text("running")
    live_pulse.call(live_pulse.sim.control.stop_guest, vmid)
    expect(status).to_have_text("stopped", timeout=WAIT_MS)
    live_pulse.call(live_pulse.sim.control.start_guest, vmid)
