"""End-to-end: the node form's test result, alert type labels, guest status width and the detail panel's URL."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from pulse_browser_harness import (
    WAIT_MS,
    expect,
    free_port,
    open_add_node_form,
    open_page,
    open_running_guest,
    wait_for_guests,
)

pytestmark = pytest.mark.browser


def test_node_form_clears_stale_test_result(live_pulse: Any, page: Any, shoot: Any) -> None:
    sim = live_pulse.sim
    form = open_add_node_form(page, live_pulse)
    form.get_by_label("Name", exact=True).fill("unreachable")
    # A closed port on loopback, so the test fails at once without leaving this machine.
    form.get_by_label("Host URL").fill(f"https://127.0.0.1:{free_port()}")
    form.get_by_label("User", exact=True).fill(sim.pve_token["user"])
    form.get_by_label("Token name").fill(sim.pve_token["token_name"])
    form.get_by_label("Token secret").fill(sim.pve_token["token_value"])

    form.get_by_role("button", name="Test connection").click()
    result = form.get_by_test_id("connection-test-result")
    expect(result).to_contain_text("Connection failed", timeout=WAIT_MS)

    form.get_by_label("Host URL").fill("127.0.0.1:8006")
    expect(result).to_have_count(0)
    # The Host field's type=url check would stop the submit button first, so the form's own check runs here.
    form.get_by_role("button", name="Test connection").click()
    expect(form.get_by_role("alert")).to_contain_text("Host must start with https://")
    expect(result).to_have_count(0)
    shoot(page, "settings-nodes-edited-after-test")

    # The name is not sent by the test, so changing it keeps a fresh result.
    form.get_by_label("Host URL").fill(sim.pve_url)
    form.get_by_label("Certificate fingerprint (SHA-256)").fill(sim.fingerprint)
    form.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text("Connection OK", timeout=WAIT_MS)
    form.get_by_label("Name", exact=True).fill("renamed")
    expect(result).to_contain_text("Connection OK")


def test_alert_type_filter_labels(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    from pulse_core.simulator import Scenario

    scenario = dataclasses.replace(Scenario.demo(), failing_disks=1, failed_replication_jobs=1)
    with live_pulse_class(scenario=scenario, poll_seconds=1.0) as live:
        open_page(page, live, "alerts")
        type_filter = page.get_by_label("Type")
        options = type_filter.locator("option")
        expect(options.filter(has_text="Disk SMART failure")).to_have_count(1, timeout=WAIT_MS)
        expect(options.filter(has_text="Replication failure")).to_have_count(1, timeout=WAIT_MS)
        labels = options.all_inner_texts()
        assert "failed" not in labels
        assert all("_" not in label for label in labels), labels

        type_filter.select_option(label="Disk SMART failure")
        rows = page.locator("tr[data-alert-id]")
        expect(rows.first).to_be_visible()
        assert all("SMART" in text or "disk" in text.lower() for text in rows.all_inner_texts())
        assert not any("replication" in text.lower() for text in rows.all_inner_texts())
        shoot(page, "alerts-type-disk")

        type_filter.select_option(label="Replication failure")
        expect(rows.first).to_be_visible()
        assert all("replication" in text.lower() for text in rows.all_inner_texts())


def test_unknown_status_fits_at_desktop_width(live_pulse_class: Any, browser: Any, shoot: Any) -> None:
    with live_pulse_class() as live:
        node = sorted(live.sim.state.nodes)[-1]
        live.call(live.sim.control.set_node_online, node, False)
        # After five simulated minutes offline the node's guests lose their stats and status.
        live.call(live.sim.control.advance, 400)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        try:
            open_page(page, live)
            wait_for_guests(page)
            unknown = page.locator(".guest-row .cell-status .status", has_text="unknown")
            expect(unknown.first).to_be_visible(timeout=WAIT_MS)
            expect(unknown.first).to_have_attribute("title", re.compile(f"node {node} did not report"))
            for cell in page.locator(".guest-row .cell-status").all():
                scroll_width, client_width = cell.evaluate("cell => [cell.scrollWidth, cell.clientWidth]")
                assert scroll_width <= client_width, f"{cell.inner_text()!r} is cut off"
            shoot(page, "overview-unknown-status-1280")
        finally:
            context.close()


def test_detail_panel_follows_url(live_pulse: Any, page: Any, shoot: Any) -> None:
    guest, drawer = open_running_guest(page, live_pulse)
    assert re.search(r"#/overview\?guest=", page.url), page.url
    linked = page.url

    # The back button closes the panel and leaves the page where it was.
    page.go_back()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.url.endswith("#/overview"), page.url

    # The address alone opens it, e.g. from a shared link.
    page.goto(linked)
    expect(page.get_by_role("dialog")).to_contain_text(guest.name, timeout=WAIT_MS)

    # The nav stays usable: one click closes the panel and opens the page.
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Storage").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.url.endswith("#/storage"), page.url
    expect(nav.get_by_role("link", name="Storage")).to_have_attribute("aria-current", "page")

    # A hash change made elsewhere closes it too.
    page.goto(linked)
    expect(page.get_by_role("dialog")).to_be_visible(timeout=WAIT_MS)
    shoot(page, "detail-drawer-with-nav")
    page.evaluate("location.hash = '#/alerts'")
    expect(page.get_by_role("dialog")).to_have_count(0)

    # Closing a linked panel with × drops the parameter without leaving the page.
    page.goto(linked)
    expect(page.get_by_role("dialog")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Close details").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.url.endswith("#/overview"), page.url


def test_reopen_right_after_escape(live_pulse: Any, page: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    buttons = page.locator(".guest-row .link-button")
    buttons.first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    second = buttons.nth(1).inner_text()

    # Escape steps back in history asynchronously; a panel opened in the same moment must survive it.
    page.evaluate(
        """() => {
            document.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape"}));
            document.querySelectorAll(".guest-row .link-button")[1].click();
        }"""
    )

    expect(page.get_by_role("dialog")).to_contain_text(second)
    page.wait_for_timeout(500)  # long enough for the step back to land; not a performance bound
    expect(page.get_by_role("dialog")).to_contain_text(second)
    assert "?guest=" in page.url, page.url


def test_removing_absent_console_url(live_pulse: Any, page: Any) -> None:
    open_page(page, live_pulse)
    wait_for_guests(page)
    page.locator(".guest-row .link-button").nth(2).click()
    drawer = page.get_by_role("dialog")
    expect(drawer.get_by_label("Custom console URL")).to_have_value("")

    drawer.get_by_role("button", name="Save").click()

    expect(drawer.get_by_role("status").filter(has_text="Console URL removed")).to_be_visible()
    expect(drawer.get_by_role("alert")).to_have_count(0)
