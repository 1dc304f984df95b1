"""End-to-end: the threshold form's empty fields show the value the server uses when they stay empty."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pulse_browser_harness import WAIT_MS, expect, open_page

pytestmark = pytest.mark.browser


def test_empty_field_placeholders(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    # A daemon of its own, because the test changes the default delay.
    with live_pulse_class() as live:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            response = client.post("/api/notifications/thresholds", json={"defaultDelaySeconds": 12})
            assert response.status_code == 200, response.text

        open_page(page, live, "settings/thresholds")
        form = page.get_by_role("form", name="Alert thresholds")
        expect(form).to_be_visible(timeout=WAIT_MS)

        critical = form.locator("#threshold-guest-cpu-critical")
        expect(critical).to_have_value("")
        expect(critical).to_have_attribute("placeholder", "trigger + 10")
        expect(form.locator("#threshold-node-disk-critical")).to_have_attribute("placeholder", "trigger + 10")

        # Threshold, condition and age metrics all inherit the configured default delay.
        for field_id in ("guest-cpu", "node-offline", "guest-backupAge"):
            delay = form.locator(f"#threshold-{field_id}-delaySeconds")
            expect(delay).to_have_value("")
            expect(delay).to_have_attribute("placeholder", "default (12 s)")
        shoot(page, "settings-thresholds-placeholders")

        # The hint follows the default delay as it is edited, before saving.
        form.locator("#threshold-defaultDelaySeconds").fill("30")
        expect(form.locator("#threshold-guest-cpu-delaySeconds")).to_have_attribute("placeholder", "default (30 s)")
