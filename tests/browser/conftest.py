"""Fixtures for the end-to-end tests: a live Pulse, Debian's Chromium through Playwright, screenshots."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _load_harness() -> Any:
    # Loaded by path: the tests directory is not a package, and bench/ loads the same file.
    name = "pulse_browser_harness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


harness = _load_harness()
SKIP = harness.skip_reason()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if SKIP is None:
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=SKIP))


@pytest.fixture(scope="module")
def live_pulse() -> Iterator[Any]:
    with harness.LivePulse() as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(harness.CHROMIUM), args=harness.CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    from playwright.sync_api import expect

    # Hang guards sized for a busy CI machine; a passing test does not wait for them.
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def live_pulse_class() -> Any:
    """The LivePulse class, for a test that needs its own daemon (e.g. with a password set)."""
    return harness.LivePulse


@pytest.fixture
def shoot() -> Callable[[Any, str], None]:
    """Save a screenshot of the page under test-artifacts/screenshots/<name>.png."""

    def save(page: Any, name: str) -> None:
        harness.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(harness.SCREENSHOTS / f"{name}.png"))

    return save
