"""Update check and self-update: ``GET /api/updates/check``, ``POST /api/updates/apply``, ``GET /api/updates/status``.

The release feed is a JSON list in the GitHub releases format (``tag_name``,
``name``, ``prerelease``, ``draft``, ``published_at``, ``html_url``, ``body``)
read from ``updates.feed_url``. It is contacted only while update checks are
on: the ``autoUpdateCheck`` system setting, whose default is
``updates.enabled``. The ``stable`` channel ignores pre-releases, ``rc``
includes them. Versions are compared with ``packaging.version``.

Applying upgrades a pip or pipx install in the environment Pulse runs from
(``python -m pip install --upgrade pulse-core==X`` in a subprocess), checks that
``pulse --version`` of that environment prints the new version, then stops
with exit status 75 so systemd (``Restart=on-failure``) starts the new version.
In a container it returns 409 with the advice to pull the new image. The check is limited to
10 requests per hour per client by the request guard.

While checks are on, the daemon also checks every ``updates.check_interval_hours``
(the first time a minute after start) and logs a newer version once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio
from packaging.version import InvalidVersion, Version
from quart import Blueprint, Response, current_app, request

from pulse_core import __version__
from pulse_core.security.context import current_actor, current_client
from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import json_response, read_json_object

log = logging.getLogger(__name__)

DISTRIBUTION = "pulse-core"
FEED_TIMEOUT_SECONDS = 15.0
MAX_FEED_BYTES = 5 * 1024 * 1024
STEP_TIMEOUT_SECONDS = 600.0
MAX_OUTPUT_CHARS = 4000
# Time for the client to read the final status before the process stops.
RESTART_DELAY_SECONDS = 2.0
STATUS_KEY = "updates.status"

# runner(argv) -> (exit status, combined stdout and stderr)
Runner = Callable[[list[str]], Awaitable[tuple[int, str]]]


async def run_command(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` without a shell and return its exit status and output; a missing program is status 127."""
    try:
        with trio.fail_after(STEP_TIMEOUT_SECONDS):
            result = await trio.run_process(argv, capture_stdout=True, stderr=subprocess.STDOUT, check=False)
    except FileNotFoundError:
        return 127, f"{argv[0]}: command not found"
    except trio.TooSlowError:
        return 124, f"{' '.join(argv)} did not finish within {STEP_TIMEOUT_SECONDS:g} seconds"
    return result.returncode, result.stdout.decode("utf-8", "replace")


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_OUTPUT_CHARS else "…" + text[-MAX_OUTPUT_CHARS:]


def parse_version(text: Any) -> Version | None:
    if not isinstance(text, str):
        return None
    try:
        return Version(text.strip().lstrip("vV"))
    except InvalidVersion:
        return None


def pick_release(releases: Any, channel: str) -> tuple[Version, dict[str, Any]] | None:
    """Return the newest release of ``channel`` from a GitHub releases list, or None."""
    best: tuple[Version, dict[str, Any]] | None = None
    for item in releases:
        if not isinstance(item, Mapping) or item.get("draft"):
            continue
        version = parse_version(item.get("tag_name"))
        if version is None:
            log.debug("Update feed entry %r has no PEP 440 version; ignored", item.get("tag_name"))
            continue
        prerelease = bool(item.get("prerelease")) or version.is_prerelease
        if prerelease and channel != "rc":
            continue
        if best is None or version > best[0]:
            best = (version, dict(item))
    return best


class UpdateService:
    """Checks the feed and runs one update at a time; ``status`` is what the status endpoint returns."""

    def __init__(
        self,
        context: Any,
        *,
        runner: Runner = run_command,
        detect_install: Callable[[], str] | None = None,
        python: str = sys.executable,
        transport: httpx.AsyncBaseTransport | None = None,
        restart_delay: float = RESTART_DELAY_SECONDS,
    ) -> None:
        self.context = context
        self.runner = runner
        self.detect_install = detect_install or (lambda: detect_install_type(os.environ))
        self.python = python
        self.transport = transport
        self.restart_delay = restart_delay
        self.last_check: dict[str, Any] | None = None
        self.status: dict[str, Any] = {"state": "idle", "phase": None, "message": "no update has run",
                                       "version": None, "startedAt": None, "finishedAt": None, "output": ""}

    # --- settings -------------------------------------------------------------------------------

    def preferences(self) -> tuple[bool, str, str]:
        """Return ``(enabled, channel, feed_url)``; saved system settings win over the YAML file."""
        from pulse_core.web.routes.system import effective_system_settings

        values = effective_system_settings(self.context)
        return bool(values["autoUpdateCheck"]), str(values["updateChannel"]), self.context.config.updates.feed_url

    def install_type(self) -> str:
        """Return "docker", "pipx", "pip" or "source" (an editable checkout)."""
        return self.detect_install()

    # --- check ----------------------------------------------------------------------------------

    async def check(self) -> dict[str, Any]:
        enabled, channel, feed_url = self.preferences()
        install = self.install_type()
        result: dict[str, Any] = {
            "enabled": enabled, "currentVersion": __version__, "channel": channel, "installType": install,
            "available": False, "latestVersion": None,
        }

        if not enabled:
            result["message"] = (
                "Update checks are turned off, so Pulse did not contact the update feed. Turn on "
                "autoUpdateCheck in the system settings (POST /api/config/system) or set updates.enabled: true."
            )
            return result

        try:
            releases = await self._fetch(feed_url)
        except ApiError as exc:
            log.warning("Update check failed: %s", exc.message)
            raise
        picked = pick_release(releases, channel)
        result["checkedAt"] = time.time()
        if picked is None:
            result["message"] = f"The update feed lists no {channel} release."
            self.last_check = result
            return result

        version, release = picked
        current = parse_version(__version__)
        available = current is None or version > current
        result.update({
            "available": available,
            "latestVersion": str(version),
            "releaseName": str(release.get("name") or release.get("tag_name") or ""),
            "releaseNotes": str(release.get("body") or ""),
            "releaseUrl": str(release.get("html_url") or ""),
            "publishedAt": release.get("published_at"),
            "prerelease": bool(release.get("prerelease")) or version.is_prerelease,
            "canApply": available and install in ("pip", "pipx"),
            "message": self._check_message(available, str(version), install),
        })
        self.last_check = result
        return result

    async def run_periodic(self, first_delay: float = 60.0) -> None:
        """Check the feed on the configured interval while checks are on, logging each new version once."""
        announced: str | None = None
        await trio.sleep(first_delay)
        while True:
            enabled, _, _ = self.preferences()
            if enabled:
                try:
                    result = await self.check()
                except ApiError:
                    pass  # check() has logged the failure; the next interval tries again
                else:
                    latest = result.get("latestVersion")
                    if result.get("available") and latest != announced:
                        announced = latest
                        log.info("Pulse %s is available (running %s): %s", latest, __version__,
                                 result.get("releaseUrl") or "see the release feed")
            await trio.sleep(self.context.config.updates.check_interval_hours * 3600)

    @staticmethod
    def _check_message(available: bool, version: str, install: str) -> str:
        if not available:
            return f"Pulse {__version__} is up to date."
        if install == "docker":
            return f"Pulse {version} is available. Pull the new image and recreate the container."
        if install == "source":
            return f"Pulse {version} is available. This is a source checkout; update it with git."
        return f"Pulse {version} is available; POST /api/updates/apply installs it."

    async def _fetch(self, feed_url: str) -> Any:
        headers = {"Accept": "application/vnd.github+json", "User-Agent": f"pulse/{__version__}"}
        try:
            async with (
                httpx.AsyncClient(timeout=FEED_TIMEOUT_SECONDS, follow_redirects=True,
                                  transport=self.transport) as client,
                client.stream("GET", feed_url, headers=headers) as response,
            ):
                if response.status_code != 200:
                    raise ApiError(502, f"update feed {feed_url} returned HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_FEED_BYTES:
                        raise ApiError(502, f"update feed {feed_url} sent more than {MAX_FEED_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise ApiError(502, f"cannot reach the update feed {feed_url}: {exc or type(exc).__name__}") from None
        try:
            releases = orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            raise ApiError(502, f"update feed {feed_url} did not return JSON") from None
        if not isinstance(releases, list):
            raise ApiError(502, f"update feed {feed_url} did not return a list of releases (GitHub releases format)")
        return releases

    # --- apply ----------------------------------------------------------------------------------

    def plan_apply(self, requested: Any) -> str:
        """Return the version to install, or raise ApiError (409) saying why nothing can be applied."""
        install = self.install_type()
        if install == "docker":
            latest = (self.last_check or {}).get("latestVersion") or "the new version"
            raise ApiError(409, f"Pulse runs in a container and cannot update itself; pull the image of {latest} "
                                "and recreate the container (docker compose pull && docker compose up -d)")
        if install == "source":
            raise ApiError(409, "Pulse runs from a source checkout (editable install); update it with git pull")
        if self.status["state"] == "running":
            raise ApiError(409, f"an update to {self.status['version']} is already running; "
                                "GET /api/updates/status shows its progress")
        if requested is not None and parse_version(requested) is None:
            raise ApiError(400, f"version: {requested!r} is not a version number")
        check = self.last_check
        if not check or not check.get("available"):
            raise ApiError(409, "no update is available; GET /api/updates/check first")
        latest = str(check["latestVersion"])
        if requested is not None and parse_version(requested) != parse_version(latest):
            raise ApiError(400, f"version: the last check offered {latest}, not {requested}")
        return latest

    async def apply(self, version: str) -> None:
        """Install ``version``, check it starts, then restart; progress goes to ``status``."""
        self.set_status(state="running", phase="installing", version=version, startedAt=time.time(), finishedAt=None,
                  output="", message=f"installing {DISTRIBUTION}=={version}")
        pip = [self.python, "-m", "pip", "install", "--upgrade", f"{DISTRIBUTION}=={version}"]
        status, output = await self.runner(pip)
        if status != 0:
            await self._fail(f"pip failed with exit status {status}; Pulse keeps running the current version", output)
            return
        self.set_status(phase="verifying", output=_tail(output), message=f"checking that Pulse {version} starts")
        pulse = str(Path(self.python).with_name("pulse"))
        status, output = await self.runner([pulse, "--version"])
        printed = output.strip().split()[-1] if output.strip() else ""
        if status != 0 or parse_version(printed) != parse_version(version):
            await self._fail(f"the installed Pulse did not start as {version} ({pulse} --version exited {status} "
                             f"and printed {output.strip()[:200]!r}); restart Pulse by hand after fixing it", output)
            return
        self.set_status(state="succeeded", phase="restarting", finishedAt=time.time(),
                  message=f"Pulse {version} is installed; restarting")
        await self._save_status()
        log.info("Update to %s installed; restarting", version)
        await self.context.audit("update.apply", version=version, result="installed")
        await trio.sleep(self.restart_delay)
        restart = getattr(self.context, "request_restart", None) or self.context.request_shutdown
        restart()

    async def _fail(self, message: str, output: str) -> None:
        log.error("Update to %s failed: %s", self.status["version"], message)
        self.set_status(state="failed", finishedAt=time.time(), message=message, output=_tail(output))
        await self._save_status()
        await self.context.audit("update.apply", version=self.status["version"], result="failed")

    def set_status(self, **changes: Any) -> None:
        self.status.update(changes)

    async def _save_status(self) -> None:
        storage = getattr(self.context, "storage", None)
        if storage is None:
            return
        try:
            await storage.set_value(STATUS_KEY, dict(self.status))
        except Exception:  # the status is informational; an update must not fail on it
            log.warning("Cannot store the update status", exc_info=True)

    async def load_status(self) -> dict[str, Any]:
        """Return the current status, or after a restart the one the previous process stored."""
        if self.status["state"] != "idle":
            return dict(self.status)
        storage = getattr(self.context, "storage", None)
        saved = None
        if storage is not None:
            try:
                saved = await storage.get_value(STATUS_KEY)
            except Exception:
                log.warning("Cannot read the stored update status", exc_info=True)
        if isinstance(saved, dict):
            return {**saved, "currentVersion": __version__, "fromPreviousRun": True}
        return dict(self.status)


def detect_install_type(environ: Mapping[str, str], dockerenv: Path = Path("/.dockerenv")) -> str:
    """Return how Pulse was installed: "docker", "source" (editable), "pipx" or "pip"."""
    if environ.get("PULSE_DOCKER", "").strip().lower() in ("1", "true", "yes") or dockerenv.exists():
        return "docker"
    if _is_editable():
        return "source"
    if "pipx" in Path(sys.prefix).parts:
        return "pipx"
    return "pip"


def _is_editable() -> bool:
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return True  # not installed as a distribution at all: running from a checkout
    if not text:
        return False
    try:
        return bool(orjson.loads(text).get("dir_info", {}).get("editable"))
    except (orjson.JSONDecodeError, AttributeError):
        return False


def create_blueprint(context: Any) -> Blueprint:
    blueprint = Blueprint("pulse_updates", __name__)
    service = UpdateService(context)
    blueprint.update_service = service  # type: ignore[attr-defined]
    start_background = getattr(context, "start_background", None)
    if start_background is not None:
        start_background(service.run_periodic)

    @blueprint.record_once
    def _register(state: Any) -> None:
        state.app.extensions["pulse_updates"] = service

    def current_service() -> UpdateService:
        return current_app.extensions.get("pulse_updates", service)

    @blueprint.get("/api/updates/check")
    async def check() -> Response:
        return json_response(await current_service().check())

    @blueprint.post("/api/updates/apply")
    async def apply() -> Response:
        updates = current_service()
        body = await read_json_object() if await request.get_data(cache=True) else {}
        unknown = sorted(set(body) - {"version"})
        if unknown:
            raise ApiError(400, "; ".join(f"{name}: unknown field (known fields: version)" for name in unknown))
        version = updates.plan_apply(body.get("version"))
        updates.set_status(state="running", phase="starting", version=version, message="starting")
        log.info("Update to %s requested by %s", version, current_actor())
        await context.audit("update.apply", actor=current_actor(), client=current_client().address,
                            version=version, result="started")
        current_app.nursery.start_soon(updates.apply, version)
        return json_response({"started": True, "version": version, "status": dict(updates.status)}, status=202)

    @blueprint.get("/api/updates/status")
    async def status() -> Response:
        return json_response(await current_service().load_status())

    return blueprint


def openapi_paths() -> dict[str, Any]:
    from pulse_core.web.openapi import BOOLEAN, STRING, nullable, obj, operation

    check = obj({
        "enabled": BOOLEAN, "available": BOOLEAN, "currentVersion": STRING, "latestVersion": nullable("string"),
        "channel": {"type": "string", "enum": ["stable", "rc"]},
        "installType": {"type": "string", "enum": ["pip", "pipx", "docker", "source"]},
        "message": STRING, "releaseName": STRING, "releaseNotes": STRING, "releaseUrl": STRING,
        "publishedAt": nullable("string"), "prerelease": BOOLEAN, "canApply": BOOLEAN, "checkedAt": {"type": "number"},
    }, required=["enabled", "available", "currentVersion", "latestVersion", "channel", "installType"])
    status = obj({
        "state": {"type": "string", "enum": ["idle", "running", "succeeded", "failed"]},
        "phase": nullable("string", description="starting, installing, verifying or restarting"),
        "message": STRING, "version": nullable("string"), "startedAt": nullable("number"),
        "finishedAt": nullable("number"), "output": {"type": "string", "description": "tail of pip's output"},
    }, required=["state", "phase", "message", "version"])
    apply = operation(
        "Install the version the last check offered, then restart", "updates",
        obj({"started": BOOLEAN, "version": STRING, "status": status}), status=202, errors=(409,),
        body=obj({"version": STRING}, required=[]), body_required=False,
        description="For pip and pipx installs. 409 in a container (pull the new image instead), from a source "
                    "checkout, while an update runs, or when no check found an update.")
    return {
        "/api/updates/check": {"get": operation(
            "Check the update feed for a newer version (10 per hour)", "updates", check, errors=(502,),
            description="Contacts the feed only while update checks are on; otherwise enabled is false and "
                        "message says how to turn them on.")},
        "/api/updates/apply": {"post": apply},
        "/api/updates/status": {"get": operation("Progress of the current or last update", "updates", status)},
    }
