"""Update check against a release feed on 127.0.0.1, and apply with stub pip and pulse commands."""

from __future__ import annotations

import logging
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pulse_core import __version__
from pulse_core.daemon import RESTART_EXIT_CODE, Daemon
from pulse_core.testing.fixtures import start_daemon, wait_until
from pulse_core.testing.webhook_receiver import Reply, open_webhook_receiver
from pulse_core.updates import pick_release

RELEASES = [
    {"tag_name": "v0.4.0rc1", "name": "0.4.0 RC 1", "prerelease": True, "draft": False,
     "published_at": "2026-11-20T10:00:00Z", "html_url": "https://example.invalid/r/0.4.0rc1", "body": "rc notes"},
    {"tag_name": "v0.5.0", "name": "draft", "prerelease": False, "draft": True},
    {"tag_name": "v0.3.0", "name": "Pulse 0.3.0", "prerelease": False, "draft": False,
     "published_at": "2026-11-01T10:00:00Z", "html_url": "https://example.invalid/r/0.3.0", "body": "stable notes"},
    {"tag_name": "nightly", "name": "not a version", "prerelease": False, "draft": False},
    {"tag_name": "v0.2.0", "prerelease": False, "draft": False},
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def feed() -> AsyncIterator[Any]:
    async with open_webhook_receiver() as receiver:
        receiver.default = Reply(200, json.dumps(RELEASES).encode())
        yield receiver


@pytest.fixture
async def daemon_factory(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    started: list[Daemon] = []

    async def factory(feed_url: str, enabled: bool = True, data_dir: Path | None = None) -> Daemon:
        if data_dir is None:
            data_dir = tmp_path / f"pulse-data-{len(started)}"
            data_dir.mkdir()
        overrides = {"server.port": free_port(), "updates.enabled": enabled, "updates.feed_url": feed_url}
        daemon = await start_daemon(nursery, data_dir, overrides=overrides)
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        daemon.request_shutdown()


def client_for(daemon: Daemon) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=30)


def service(daemon: Daemon) -> Any:
    return daemon.app.extensions["pulse_updates"]


async def check(daemon: Daemon) -> httpx.Response:
    async with client_for(daemon) as client:
        return await client.get("/api/updates/check")


async def test_check_disabled_never_contacts_feed(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url + "/releases", enabled=False)

    response = await check(daemon)

    assert response.status_code == 200
    body = response.json()
    assert body["enabled"] is False
    assert body["available"] is False
    assert "Update checks are turned off" in body["message"]
    assert feed.requests == []


async def test_check_stable_picks_newest_release(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url + "/releases")

    response = await check(daemon)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currentVersion"] == __version__
    assert body["latestVersion"] == "0.3.0"
    assert body["available"] is True
    assert body["releaseNotes"] == "stable notes"
    assert body["prerelease"] is False
    assert feed.requests[0].path == "/releases"
    assert feed.requests[0].headers["user-agent"] == f"pulse/{__version__}"


async def test_check_rc_channel_includes_prereleases(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url + "/releases")
    async with client_for(daemon) as client:
        saved = await client.post("/api/config/system", json={"updateChannel": "rc"})
        assert saved.status_code == 200, saved.text

    body = (await check(daemon)).json()

    assert body["channel"] == "rc"
    assert body["latestVersion"] == "0.4.0rc1"
    assert body["prerelease"] is True


async def test_check_reports_up_to_date(daemon_factory, feed) -> None:
    feed.default = Reply(200, json.dumps([{"tag_name": f"v{__version__}", "draft": False}]).encode())
    daemon = await daemon_factory(feed.url)

    body = (await check(daemon)).json()

    assert body["available"] is False
    assert body["message"] == f"Pulse {__version__} is up to date."


@pytest.mark.parametrize("reply, message", [
    (Reply(500, b"oops"), "returned HTTP 500"),
    (Reply(200, b"<html>"), "did not return JSON"),
    (Reply(200, b'{"message": "Not Found"}'), "did not return a list of releases"),
])
async def test_check_reports_bad_feed(daemon_factory, feed, reply, message) -> None:
    feed.default = reply
    daemon = await daemon_factory(feed.url)

    response = await check(daemon)

    assert response.status_code == 502
    assert message in response.json()["error"]


async def test_check_reports_unreachable_feed(daemon_factory) -> None:
    daemon = await daemon_factory(f"http://127.0.0.1:{free_port()}/releases")

    response = await check(daemon)

    assert response.status_code == 502
    assert response.json()["error"].startswith("cannot reach the update feed http://127.0.0.1:")


async def test_check_rate_limited_to_ten_per_hour(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url, enabled=False)
    async with client_for(daemon) as client:
        statuses = [(await client.get("/api/updates/check")).status_code for _ in range(11)]

    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def write_stub(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def install_stubs(tmp_path: Path, printed_version: str, pip_status: int = 0) -> tuple[Path, Path]:
    """Create a fake interpreter (records its arguments) and a fake pulse next to it."""
    bin_dir = tmp_path / "venv-bin"
    bin_dir.mkdir()
    log = tmp_path / "pip-calls.txt"
    python = write_stub(bin_dir / "python", f'echo "$@" >> {log}\necho "Successfully installed"\nexit {pip_status}\n')
    write_stub(bin_dir / "pulse", f'echo "pulse {printed_version}"\n')
    return python, log


async def start_apply(daemon: Daemon, tmp_path: Path, printed_version: str, pip_status: int = 0) -> Path:
    python, log = install_stubs(tmp_path, printed_version, pip_status)
    updates = service(daemon)
    updates.python = str(python)
    updates.detect_install = lambda: "pip"
    updates.restart_delay = 0
    assert (await check(daemon)).json()["canApply"] is True
    async with client_for(daemon) as client:
        response = await client.post("/api/updates/apply", json={"version": "0.3.0"})
    assert response.status_code == 202, response.text
    assert response.json()["version"] == "0.3.0"
    return log


async def test_apply_installs_verifies_and_restarts(daemon_factory, feed, tmp_path) -> None:
    daemon = await daemon_factory(feed.url)

    log = await start_apply(daemon, tmp_path, "0.3.0")

    await wait_until(lambda: service(daemon).status["state"] == "succeeded")
    assert log.read_text().split() == ["-m", "pip", "install", "--upgrade", "pulse-core==0.3.0"]
    assert service(daemon).status["phase"] == "restarting"
    await wait_until(lambda: daemon.exit_code == RESTART_EXIT_CODE)
    await wait_until(lambda: not (Path(daemon.data_dir) / "pulse.pid").exists())

    restarted = await daemon_factory(feed.url, data_dir=Path(daemon.data_dir))
    async with client_for(restarted) as client:
        status = (await client.get("/api/updates/status")).json()
    assert status["fromPreviousRun"] is True
    assert status["state"] == "succeeded"
    assert status["version"] == "0.3.0"


async def test_apply_reports_pip_failure(daemon_factory, feed, tmp_path) -> None:
    daemon = await daemon_factory(feed.url)

    await start_apply(daemon, tmp_path, "0.3.0", pip_status=1)

    await wait_until(lambda: service(daemon).status["state"] == "failed")
    async with client_for(daemon) as client:
        status = (await client.get("/api/updates/status")).json()
    assert status["message"].startswith("pip failed with exit status 1")
    assert "Successfully installed" in status["output"]
    assert daemon.exit_code == 0


async def test_apply_reports_version_that_does_not_start(daemon_factory, feed, tmp_path) -> None:
    daemon = await daemon_factory(feed.url)

    await start_apply(daemon, tmp_path, __version__)

    await wait_until(lambda: service(daemon).status["state"] == "failed")
    assert "did not start as 0.3.0" in service(daemon).status["message"]
    assert daemon.exit_code == 0


async def test_apply_in_container_says_pull_image(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url)
    service(daemon).detect_install = lambda: "docker"
    await check(daemon)

    async with client_for(daemon) as client:
        response = await client.post("/api/updates/apply")

    assert response.status_code == 409
    assert "pull the image of 0.3.0" in response.json()["error"]


async def test_apply_without_check_is_refused(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url)
    service(daemon).detect_install = lambda: "pip"

    async with client_for(daemon) as client:
        response = await client.post("/api/updates/apply")
        wrong = await client.post("/api/updates/apply", json={"version": "x.y"})

    assert response.status_code == 409
    assert response.json()["error"] == "no update is available; GET /api/updates/check first"
    assert wrong.status_code == 400
    assert wrong.json()["error"].startswith("version: 'x.y' is not a version number")


async def test_status_idle_before_any_update(daemon_factory, feed) -> None:
    daemon = await daemon_factory(feed.url)
    async with client_for(daemon) as client:
        status = (await client.get("/api/updates/status")).json()

    assert status["state"] == "idle"
    assert status["version"] is None


@pytest.mark.parametrize("channel, expected", [("stable", "0.3.0"), ("rc", "0.4.0rc1")])
def test_pick_release_by_channel(channel: str, expected: str) -> None:
    picked = pick_release(RELEASES, channel)

    assert picked is not None
    assert str(picked[0]) == expected


def test_pick_release_ignores_drafts_and_bad_tags() -> None:
    assert pick_release([{"tag_name": "v9.0.0", "draft": True}, {"tag_name": "latest"}, "junk"], "rc") is None


async def test_periodic_check_logs_new_version_once(daemon_factory, feed, nursery, caplog) -> None:
    """With checks on, the scheduled check reads the feed on its interval and announces a version once."""
    from pulse_core.testing.fixtures import wait_until

    daemon = await daemon_factory(f"{feed.url}/releases")
    caplog.set_level(logging.INFO, logger="pulse_core.updates")
    # About one check per second, so the test sees several without waiting hours.
    daemon.config.updates.check_interval_hours = 0.0003
    before = len(feed.requests)
    nursery.start_soon(service(daemon).run_periodic, 0.0)
    await wait_until(lambda: len(feed.requests) - before >= 3)
    announcements = [r for r in caplog.records if "is available" in r.getMessage()]
    assert len(announcements) == 1
