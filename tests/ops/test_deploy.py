"""The systemd unit, the container entry point, and the notify protocol of `pulse run`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "pulse.service"
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"
PULSE_BIN = Path(sys.executable).with_name("pulse")


def test_unit_has_required_hardening():
    text = UNIT.read_text()
    for line in (
        "Type=notify", "WatchdogSec=", "User=pulse", "StateDirectory=pulse", "EnvironmentFile=",
        "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/pulse", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ):
        assert line in text, line
    assert "\nCapabilityBoundingSet=\n" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (Debian package systemd)")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    # verify checks that ExecStart exists, so point it at this environment's pulse.
    unit = tmp_path / "pulse.service"
    unit.write_text(UNIT.read_text().replace("/opt/pulse/bin/pulse", str(PULSE_BIN)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pulse.service" not in result.stderr, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (Debian package shellcheck)")
def test_entrypoint_passes_shellcheck():
    result = subprocess.run(["shellcheck", str(ENTRYPOINT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def _fake_pulse(tmp_path: Path) -> Path:
    fake = tmp_path / "fake-pulse"
    fake.write_text('#!/bin/sh\necho "args=$*"\necho "data=$PULSE_DATA_DIR bind=$PULSE_BIND docker=$PULSE_DOCKER '
                    'config=${PULSE_CONFIG:-}"\n')
    fake.chmod(0o755)
    return fake


def run_entrypoint(tmp_path: Path, *args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "PULSE_BIN": str(_fake_pulse(tmp_path)), "PULSE_DATA_DIR": str(data_dir)}
    return subprocess.run(["sh", str(ENTRYPOINT), *args], capture_output=True, text=True, env=env, timeout=30)


def test_entrypoint_defaults_to_run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    result = run_entrypoint(tmp_path, data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "args=run" in result.stdout
    assert f"data={data} bind=0.0.0.0 docker=true" in result.stdout


def test_entrypoint_passes_flags_to_run_and_finds_config(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "pulse.yaml").write_text("server:\n  port: 7655\n")
    result = run_entrypoint(tmp_path, "--port", "8000", data_dir=data)
    assert "args=run --port 8000" in result.stdout
    assert f"config={data}/pulse.yaml" in result.stdout


def test_entrypoint_other_commands_pass_through(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    result = run_entrypoint(tmp_path, "check-config", data_dir=data)
    assert "args=check-config" in result.stdout


def test_entrypoint_missing_data_dir_is_clear(tmp_path):
    result = run_entrypoint(tmp_path, data_dir=tmp_path / "absent")
    assert result.returncode == 1
    assert "missing or not writable" in result.stderr


def test_dockerfile_runs_as_non_root_with_healthcheck():
    text = (REPO / "Dockerfile").read_text()
    assert "\nUSER 1000:1000\n" in text
    assert "useradd --system --uid 1000 " in text  # the numeric USER is the pulse user
    assert 'VOLUME ["/data"]' in text
    assert "EXPOSE 7655" in text
    assert "/api/health" in text.split("HEALTHCHECK", 1)[1]
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 3  # multi-stage


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_run_sends_ready_watchdog_and_stopping(tmp_path):
    """`pulse run` under a NOTIFY_SOCKET reports READY, pings the watchdog and sends STOPPING on SIGTERM."""
    notify_path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(notify_path))
    receiver.settimeout(1)
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(notify_path),
        "WATCHDOG_USEC": "400000",
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_BIND": "127.0.0.1",
        "FRONTEND_PORT": str(_closed_port()),
    }
    env.pop("WATCHDOG_PID", None)
    process = subprocess.Popen([sys.executable, "-m", "pulse_core", "run"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    messages: list[str] = []

    def receive_until(prefix: str) -> None:
        # The 120 s bound only stops a hung test; it is not a speed requirement.
        for _ in range(120):
            if any(m.startswith(prefix) for m in messages):
                return
            if process.poll() is not None:
                pytest.fail(f"pulse exited with {process.returncode}: {process.stderr.read()}")
            try:
                messages.append(receiver.recv(4096).decode())
            except TimeoutError:
                continue
        pytest.fail(f"no {prefix} message; got {messages}")

    try:
        receive_until("WATCHDOG=1")
        assert messages[0].startswith("READY=1"), messages
        process.send_signal(signal.SIGTERM)
        receive_until("STOPPING=1")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        receiver.close()
    _, stderr = process.communicate()
    assert "data directory" in stderr
    assert "Pulse stopped" in stderr
