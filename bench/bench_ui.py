"""Web UI benchmark: first render of the overview with 2,500 guests, and applying one WebSocket update.

Runs Pulse in-process against the simulator's large scenario (16 nodes, 2,500
guests), opens the dashboard in Debian's headless Chromium through Playwright,
and reads the page's own Performance API entries:

* ``pulse:overview-rendered`` (a mark): milliseconds from navigation start to
  the first commit of the guests table with every guest loaded;
* ``pulse:update-applied`` (measures): from a state message's arrival on the
  WebSocket to the table's commit, covering JSON parsing, filtering, sorting and
  rendering the visible rows (not the browser's paint after it).

Usage: .venv/bin/python bench/bench_ui.py [--loads 5] [--updates 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def load_harness() -> Any:
    spec = importlib.util.spec_from_file_location("pulse_browser_harness", REPO / "tests" / "browser" / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads for the first-render figure (default 5)")
    parser.add_argument("--updates", type=int, default=8, help="WebSocket updates measured per load (default 8)")
    parser.add_argument("--guests", type=int, default=2500, help="simulated guests (default 2500)")
    parser.add_argument("--poll-seconds", type=float, default=3.0, help="daemon polling interval (default 3)")
    args = parser.parse_args()

    harness = load_harness()
    reason = harness.skip_reason()
    if reason:
        raise SystemExit(f"cannot run: {reason}")

    from playwright.sync_api import sync_playwright

    from pulse_core.simulator import Scenario

    scenario = Scenario.large(nodes=16, guests=args.guests)
    with harness.LivePulse(scenario=scenario, poll_seconds=args.poll_seconds) as live:
        wait_for(lambda: live.call(lambda: len(live.daemon.state.all("guests"))) >= args.guests, 120, "the first poll")
        state_bytes = live.call(lambda: len(live.daemon.state.serialized()))
        first_renders: list[float] = []
        updates: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(harness.CHROMIUM), args=harness.CHROMIUM_ARGS)
            for _ in range(args.loads):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{live.url}/#/overview")
                rendered = wait_for(
                    lambda: page.evaluate(
                        "performance.getEntriesByName('pulse:overview-rendered').map((entry) => entry.startTime)"
                    ),
                    60,
                    "the overview to render",
                )
                first_renders.append(rendered[0])
                page.evaluate("performance.clearMeasures('pulse:update-applied')")
                measured = wait_for(
                    lambda: (
                        lambda found: found if len(found) >= args.updates else None
                    )(page.evaluate("performance.getEntriesByName('pulse:update-applied').map((entry) => entry.duration)")),
                    args.updates * args.poll_seconds * 4 + 30,
                    f"{args.updates} WebSocket updates",
                )
                updates.extend(measured[: args.updates])
                page.close()
            version = browser.version
            browser.close()

    result = {
        "guests": args.guests,
        "state_document_kib": round(state_bytes / 1024),
        "chromium": version,
        "first_render_ms_median": round(statistics.median(first_renders), 1),
        "first_render_ms_all": [round(value, 1) for value in first_renders],
        "update_ms_median": round(statistics.median(updates), 1),
        "update_ms_p90": round(sorted(updates)[int(len(updates) * 0.9) - 1], 1),
        "update_count": len(updates),
        "machine": f"{platform.machine()}, {platform.processor() or 'unknown CPU'}, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
