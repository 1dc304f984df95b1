"""End-to-end: disks, Ceph and replication on the Storage page, and a failed disk's alert."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pulse_browser_harness import WAIT_MS, expect

pytestmark = pytest.mark.browser


def degraded_scenario() -> Any:
    from pulse_core.simulator import Scenario

    scenario = Scenario.demo()
    scenario.ceph = True
    scenario.ceph_health = "HEALTH_WARN"
    scenario.failing_disks = 1
    scenario.failed_replication_jobs = 1
    return scenario


def test_storage_page_shows_disk_ceph_replication(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    with live_pulse_class(scenario=degraded_scenario()) as live:
        page.goto(f"{live.url}/#/storage")
        expect(page.locator("[data-connection='connected']")).to_be_visible(timeout=WAIT_MS)

        disks = page.locator("section", has=page.get_by_role("heading", name="Disks on pve1"))
        expect(disks).to_be_visible(timeout=WAIT_MS)
        failed_row = disks.locator("tr", has_text="/dev/sdb")
        expect(failed_row).to_contain_text("failed")
        expect(failed_row).to_contain_text("ST4000NM000A")
        expect(disks.locator("tr", has_text="/dev/nvme0n1")).to_contain_text(re.compile(r"\d+% used"))
        expect(page.get_by_role("heading", name="Disks on pve2")).to_be_visible()

        ceph = page.locator("section", has=page.get_by_role("heading", name="Ceph", exact=True))
        expect(ceph).to_contain_text("warning")
        expect(ceph).to_contain_text("OSD_NEARFULL")
        expect(ceph).to_contain_text("3 of 3 in quorum")

        replication = page.locator("section", has=page.get_by_role("heading", name="Replication"))
        expect(replication.locator("tbody tr").first).to_contain_text("3 failed")
        shoot(page, "storage-health")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
        expect(page.locator("tr[data-alert-id]", has_text="SMART health failed")).to_be_visible(timeout=WAIT_MS)
        shoot(page, "alerts-disk-failed")
