"""End-to-end: creating named API tokens with a scope in Settings → Security, with and without a password."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pulse_browser_harness import WAIT_MS, expect, open_page

pytestmark = pytest.mark.browser

USER = "admin"
PASSWORD = "correct horse battery"


def token_row(page: Any, name: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))


def test_create_token_with_scope(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    env = {"PULSE_AUTH_USER": USER, "PULSE_AUTH_PASS": PASSWORD}
    with live_pulse_class(env=env) as live:
        page.goto(f"{live.url}/")
        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name=f"Log out {USER}")).to_be_visible(timeout=WAIT_MS)

        page.goto(f"{live.url}/#/settings/security")
        page.get_by_label("New token name").fill("grafana")
        scope = page.get_by_label("Scope", exact=True)
        labels = scope.locator("option").all_inner_texts()
        assert labels == [
            "Read-only (monitoring:read)",
            "Read and change settings (settings:write)",
            "Full access, including tokens and password (*)",
        ]
        scope.select_option(label="Read-only (monitoring:read)")
        page.get_by_role("button", name="Create token").click()

        expect(page.get_by_role("status").filter(has_text="Token grafana created")).to_be_visible()
        row = token_row(page, "grafana")
        expect(row).to_contain_text("monitoring:read")
        value = page.get_by_test_id("revealed-token").inner_text()
        shoot(page, "settings-security-token-created")

        # The token the form created reads state but cannot manage tokens.
        with httpx.Client(base_url=live.url, headers={"X-API-Token": value}) as http:
            assert http.get("/api/state").status_code == 200
            assert http.get("/api/security/tokens").status_code == 403


def test_read_only_token_needs_password(live_pulse_class: Any, page: Any, shoot: Any) -> None:
    with live_pulse_class() as live:
        open_page(page, live, "settings/security")
        expect(page.get_by_role("status").filter(has_text="No password is set")).to_be_visible()

        page.get_by_label("New token name").fill("grafana")
        page.get_by_label("Scope", exact=True).select_option(label="Read-only (monitoring:read)")
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_role("alert")).to_contain_text("set a password in Settings → Security first")
        expect(token_row(page, "grafana")).to_have_count(0)
        shoot(page, "settings-security-token-needs-password")

        # A * token is allowed after the browser's confirmation, and stays on screen to be copied.
        messages: list[str] = []

        def accept(dialog: Any) -> None:
            messages.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        page.get_by_label("Scope", exact=True).select_option(label="Full access, including tokens and password (*)")
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_role("status").filter(has_text="sign-in is on")).to_be_visible()
        value = page.get_by_test_id("revealed-token").inner_text()
        assert len(messages) == 1
        assert messages[0].startswith("No password is set. A token turns sign-in on")

        with httpx.Client(base_url=live.url) as http:
            assert http.get("/api/security/tokens").status_code == 401
            assert http.get("/api/security/tokens", headers={"X-API-Token": value}).status_code == 200
