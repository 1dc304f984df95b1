"""Lifecycle log lines, rate-limited source errors, JSON format, and no secret in the log of `pulse run`."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import yaml

from pulse_core import __version__
from pulse_core.errors import SourceAuthError
from pulse_core.logs import JsonFormatter, buffer_startup_logs, configure_logging
from pulse_core.model import ConnectionReport, Node, PollResult
from pulse_core.polling import ERROR_LOG_INTERVAL, SourcePoller

PULSE_BIN = Path(sys.executable).with_name("pulse")
API_TOKEN = "canary-apitoken-6a0f93d2c1b8"
AUTH_PASSWORD = "canary-AuthPass-8e21f7"
NODE_PASSWORD = "canary-nodepass-c4d5e6f7"
NODE_TOKEN = "canary-nodetoken-1f2e3d4c"


class FlakySource:
    """A source whose polls fail with ``error`` while it is set."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.error: Exception | None = None

    async def poll(self) -> PollResult:
        if self.error is not None:
            raise self.error
        return PollResult(instance=self.instance,
                          nodes=[Node(id=f"{self.instance}-n", name="n", instance=self.instance, status="online")])

    async def test_connection(self) -> ConnectionReport:
        return ConnectionReport(ok=True, message="ok")

    async def aclose(self) -> None:
        pass


async def _ignore_result(*args: Any) -> None:
    pass


def messages(caplog: Any, logger: str = "pulse_core.polling") -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


async def test_poller_logs_connect_lose_restore(autojump_clock, caplog):
    caplog.set_level(logging.INFO)
    source = FlakySource("lab")
    poller = SourcePoller(source, interval=10, timeout=5, on_result=_ignore_result)

    await poller.poll_once()
    source.error = SourceAuthError("authentication failed for monitor@pve")
    await poller.poll_once()
    source.error = None
    await poller.poll_once()

    lines = messages(caplog)
    assert lines[0] == "Connected to lab"
    assert lines[1] == "Lost connection to lab (auth): authentication failed for monitor@pve"
    assert lines[-1] == "Connection to lab restored"


async def test_repeated_source_errors_rate_limited(autojump_clock, caplog):
    caplog.set_level(logging.INFO)
    source = FlakySource("lab")
    source.error = SourceAuthError("authentication failed for monitor@pve")
    poller = SourcePoller(source, interval=10, timeout=5, on_result=_ignore_result)

    for _ in range(20):
        await poller.poll_once()
        await trio.sleep(10)
    assert poller.stats.failures == 20
    assert len([line for line in messages(caplog) if line.startswith("Polling lab failed")]) == 1

    await trio.sleep(ERROR_LOG_INTERVAL)
    await poller.poll_once()
    assert len([line for line in messages(caplog) if line.startswith("Polling lab failed")]) == 2


async def test_first_success_after_failure_is_connected(autojump_clock, caplog):
    caplog.set_level(logging.INFO)
    source = FlakySource("lab")
    source.error = SourceAuthError("authentication failed for monitor@pve")
    poller = SourcePoller(source, interval=10, timeout=5, on_result=_ignore_result)

    await poller.poll_once()
    source.error = None
    await poller.poll_once()

    lines = messages(caplog)
    assert "Connected to lab" in lines
    assert "Connection to lab restored" not in lines
    assert not any(line.startswith("Lost connection") for line in lines)


@pytest.fixture
def restore_logging():
    """Put back the root handlers and levels that ``configure_logging`` replaces."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in ("hypercorn.access", "httpx", "httpcore")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


def test_startup_buffer_replayed_at_level(capsys, restore_logging):
    buffer = buffer_startup_logs()
    logging.getLogger("pulse_core.plugins").info("Loaded plugin probe (probe 1.0)")
    logging.getLogger("pulse_core.plugins").debug("hidden at INFO")
    configure_logging("INFO", "json", replay=buffer)

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["Loaded plugin probe (probe 1.0)"]
    assert lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == "pulse_core.plugins"
    assert buffer.records == []


def test_json_formatter_keeps_exception():
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord("pulse_core.test", logging.ERROR, __file__, 1, "Failed %s", ("x",),
                                   sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "Failed x"
    assert entry["level"] == "ERROR"
    assert "ValueError: bad value" in entry["exception"]
    assert entry["time"].endswith("Z")


# --- `pulse run` as a subprocess --------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_text(sim: Any, data_dir: Path, port: int) -> str:
    pve = sim.pve_token
    pbs = sim.pbs_token
    nodes = [
        {"type": "pve", "name": "demo", "host": sim.pve_url, "user": pve["user"], "token_name": pve["token_name"],
         "token_value": pve["token_value"], "fingerprint": sim.fingerprint},
        {"type": "pbs", "name": "backup", "host": sim.pbs_url, "user": pbs["user"], "token_name": pbs["token_name"],
         "token_value": pbs["token_value"], "fingerprint": sim.pbs_fingerprint},
        # Wrong credentials: every poll fails authentication, and the password must not reach the log.
        {"type": "pve", "name": "wrongpass", "host": sim.pve_url, "user": "root@pam", "password": NODE_PASSWORD,
         "fingerprint": sim.fingerprint},
        {"type": "pve", "name": "wrongtoken", "host": sim.pve_url, "user": "monitor@pve", "token_name": "pulse",
         "token_value": NODE_TOKEN, "fingerprint": sim.fingerprint},
    ]
    return yaml.safe_dump({
        "data_dir": str(data_dir),
        "server": {"bind": "127.0.0.1", "port": port},
        "polling": {"interval_seconds": 1},
        "nodes": nodes,
    })


def json_lines(path: Path) -> list[dict[str, Any]]:
    # The daemon may be halfway through writing the last line, so only complete lines count.
    complete = path.read_text().rpartition("\n")[0]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


async def wait_for_message(path: Path, fragment: str, timeout: float = 60) -> None:
    # A hang guard, not a performance assertion.
    with trio.fail_after(timeout):
        while not any(fragment in entry["message"] for entry in json_lines(path)):
            await trio.sleep(0.1)


async def test_run_log_lifecycle_json_no_secrets(tmp_path, pulse_simulator):
    sim = pulse_simulator
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    config = tmp_path / "pulse.yaml"
    config.write_text(config_text(sim, data_dir, port))
    stderr_path = tmp_path / "stderr.log"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG",
        "API_TOKEN": API_TOKEN, "PULSE_AUTH_USER": "admin", "PULSE_AUTH_PASS": AUTH_PASSWORD,
    }
    if "PYTHONPATH" in os.environ:  # a test run against another checkout of pulse_core
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]

    with stderr_path.open("wb") as stderr:
        process = await trio.lowlevel.open_process(
            [str(PULSE_BIN), "run", "--config", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    try:
        await wait_for_message(stderr_path, "Connected to demo")
        await wait_for_message(stderr_path, "Connected to backup")
        await wait_for_message(stderr_path, "Polling wrongpass failed")
        sim.control.set_server_down(True, "pve", seconds=2)
        await wait_for_message(stderr_path, "Lost connection to demo")
        await wait_for_message(stderr_path, "Connection to demo restored")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            metrics = (await http.get("/metrics", headers={"X-API-Token": API_TOKEN})).text
    finally:
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(60):
            returncode = await process.wait()

    assert returncode == 0
    raw = stderr_path.read_text()
    entries = json_lines(stderr_path)  # every line is a JSON object
    text = [entry["message"] for entry in entries]

    assert any(line.startswith("Loaded plugin pve (pulse-pve ") for line in text)
    listening = [line for line in text if line.startswith(f"Pulse {__version__} listening on http://127.0.0.1:{port}")]
    assert listening == [f"Pulse {__version__} listening on http://127.0.0.1:{port}; data directory {data_dir}"]
    assert text.count("Connected to demo") == 1
    assert text.count("Connection to demo restored") == 1
    assert "Shutting down" in text
    assert text[-1] == "Pulse stopped"
    assert {entry["level"] for entry in entries} <= {"DEBUG", "INFO", "WARNING", "ERROR"}

    # The wrong-password node failed authentication on every poll but logged it once.
    wrongpass_polls = [line for line in metrics.splitlines() if line.startswith('pulse_polls_total{source="wrongpass"}')]
    assert wrongpass_polls
    assert float(wrongpass_polls[0].split()[-1]) >= 2
    assert len([line for line in text if line.startswith("Polling wrongpass failed (auth)")]) == 1

    secrets = [API_TOKEN, AUTH_PASSWORD, NODE_PASSWORD, NODE_TOKEN, sim.pve_token["token_value"],
               sim.pbs_token["token_value"]]
    for secret in secrets:
        assert secret not in raw, secret
