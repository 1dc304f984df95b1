"""Generated setup scripts run with bash against stub Proxmox tools and register with a running Pulse."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import trio

from pulse_core.setup_script import CODE_TTL_SECONDS, SetupCodes
from pulse_core.web.errors import ApiError

from .conftest import Node, client_for, run_script

PVE_USER = "pulse-monitor@pve"
PBS_USER = "pulse-monitor@pbs"


async def request_script(daemon: Any, **body: Any) -> dict[str, Any]:
    async with client_for(daemon) as client:
        response = await client.post("/api/setup-script", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def configured_nodes(daemon: Any) -> list[dict[str, Any]]:
    async with client_for(daemon) as client:
        return (await client.get("/api/config/nodes")).json()


def allow_token(sim: Any, product: str, user: str, token_name: str, env: dict[str, str]) -> None:
    """Make the simulator accept the token the stub tools hand out, as the real server would."""
    auth = sim.pve_auth if product == "pve" else sim.pbs_auth
    auth.add_token(user, token_name, env["STUB_TOKEN_SECRET"])


async def run_pve(daemon: Any, sim: Any, node: Node, **extra_env: str) -> tuple[Any, dict[str, Any], dict[str, str]]:
    issued = await request_script(daemon, type="pve", host=sim.pve_url)
    env = node.env(**extra_env)
    allow_token(sim, "pve", PVE_USER, issued["tokenName"], env)
    result = await run_script(issued["script"], node, env)
    return result, issued, env


async def test_pve_script_registers_node(daemon_factory, sim, proxmox_node) -> None:
    daemon = await daemon_factory()

    result, issued, env = await run_pve(daemon, sim, proxmox_node)

    assert result.returncode == 0, result.stderr.decode()
    token = issued["tokenName"]
    assert proxmox_node.calls("pveum") == [
        ["pveum", "user", "list", "--output-format", "json"],
        ["pveum", "user", "add", PVE_USER, "--comment", "Pulse monitoring"],
        ["pveum", "role", "list", "--output-format", "json"],
        ["pveum", "role", "add", "PulseMonitor", "--privs", "VM.GuestAgent.Audit"],
        ["pveum", "user", "token", "list", PVE_USER, "--output-format", "json"],
        ["pveum", "user", "token", "add", PVE_USER, token, "--privsep", "1", "--comment", "Pulse monitoring",
         "--output-format", "json"],
        ["pveum", "acl", "modify", "/", "--users", PVE_USER, "--tokens", f"{PVE_USER}!{token}",
         "--roles", "PVEAuditor,PulseMonitor"],
    ]
    output = result.stdout.decode()
    assert "Created user pulse-monitor@pve" in output
    assert "Pulse registered the node" in output
    [node] = await configured_nodes(daemon)
    assert node["type"] == "pve"
    assert node["host"] == sim.pve_url
    assert node["tokenName"] == token
    assert node["hasToken"] is True
    assert node["fingerprint"] == sim.fingerprint
    stored = daemon.settings.get("nodes")[0]
    assert stored["token_value"] == env["STUB_TOKEN_SECRET"]
    assert stored["user"] == PVE_USER


async def test_pve_script_second_run_replaces_token(daemon_factory, sim, proxmox_node) -> None:
    daemon = await daemon_factory()
    first, _, _ = await run_pve(daemon, sim, proxmox_node)
    assert first.returncode == 0, first.stderr.decode()
    proxmox_node.clear_log()

    second, issued, env = await run_pve(daemon, sim, proxmox_node)

    assert second.returncode == 0, second.stderr.decode()
    token = issued["tokenName"]
    calls = proxmox_node.calls("pveum")
    assert ["pveum", "user", "add", PVE_USER, "--comment", "Pulse monitoring"] not in calls
    assert ["pveum", "role", "modify", "PulseMonitor", "--privs", "VM.GuestAgent.Audit"] in calls
    remove = calls.index(["pveum", "user", "token", "remove", PVE_USER, token])
    add = next(index for index, call in enumerate(calls) if call[:4] == ["pveum", "user", "token", "add"])
    assert remove < add
    nodes = await configured_nodes(daemon)
    assert len(nodes) == 1
    assert daemon.settings.get("nodes")[0]["token_value"] == env["STUB_TOKEN_SECRET"]
    assert "already exists" in second.stdout.decode()


async def test_pve8_uses_vm_monitor_and_backup_access(daemon_factory, sim, proxmox_node) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pve", host=sim.pve_url, backupAccess=True)
    env = proxmox_node.env(STUB_PVE_MAJOR="8")
    allow_token(sim, "pve", PVE_USER, issued["tokenName"], env)

    result = await run_script(issued["script"], proxmox_node, env)

    assert result.returncode == 0, result.stderr.decode()
    calls = proxmox_node.calls("pveum")
    assert ["pveum", "role", "add", "PulseMonitor", "--privs", "VM.Monitor"] in calls
    token_id = f"{PVE_USER}!{issued['tokenName']}"
    assert ["pveum", "acl", "modify", "/storage", "--users", PVE_USER, "--tokens", token_id,
            "--roles", "PVEDatastoreAdmin"] in calls


async def test_pve_fingerprint_read_on_node_is_pinned(daemon_factory, sim, proxmox_node, tmp_path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so the script cannot read the certificate's fingerprint")
    cert_dir = tmp_path / "pve-local"
    cert_dir.mkdir()
    (cert_dir / "pve-ssl.pem").write_text(sim.cert_pem)
    daemon = await daemon_factory()

    result, _, _ = await run_pve(daemon, sim, proxmox_node, PULSE_PVE_CERT_DIR=str(cert_dir))

    assert result.returncode == 0, result.stderr.decode()
    assert "SHA-256 fingerprint is" in result.stdout.decode()
    assert daemon.settings.get("nodes")[0]["fingerprint"].upper() == sim.fingerprint


async def test_pve_wrong_fingerprint_is_rejected(daemon_factory, sim, proxmox_node, tmp_path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so the script cannot read the certificate's fingerprint")
    cert_dir = tmp_path / "pve-local"
    cert_dir.mkdir()
    (cert_dir / "pve-ssl.pem").write_text(sim.pbs_cert_pem)  # a certificate the server does not present
    daemon = await daemon_factory()

    result, _, _ = await run_pve(daemon, sim, proxmox_node, PULSE_PVE_CERT_DIR=str(cert_dir))

    assert result.returncode != 0
    assert "Pulse rejected the registration (HTTP 400)" in result.stderr.decode()
    assert "fingerprint mismatch" in result.stderr.decode()
    assert await configured_nodes(daemon) == []


async def test_pve_script_names_failed_command(daemon_factory, sim, proxmox_node) -> None:
    daemon = await daemon_factory()

    result, _, _ = await run_pve(daemon, sim, proxmox_node, STUB_FAIL="role add")

    assert result.returncode != 0
    stderr = result.stderr.decode()
    assert "ERROR: command failed with exit status 5" in stderr
    assert 'pveum role add "$ROLE" --privs "$agent_privilege"' in stderr
    assert not any(call[1:3] == ["user", "token"] for call in proxmox_node.calls("pveum"))
    assert await configured_nodes(daemon) == []


async def test_setup_code_works_once(daemon_factory, sim, proxmox_node) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pve", host=sim.pve_url)
    env = proxmox_node.env()
    allow_token(sim, "pve", PVE_USER, issued["tokenName"], env)
    assert (await run_script(issued["script"], proxmox_node, env)).returncode == 0

    proxmox_node.clear_log()

    again = await run_script(issued["script"], proxmox_node, env)

    assert again.returncode != 0
    assert "Pulse rejected the setup code (HTTP 401)" in again.stderr.decode()
    assert "setup code invalid, expired or already used" in again.stderr.decode()
    assert proxmox_node.calls("pveum") == []
    assert proxmox_node.calls("pveversion") == []
    assert len(await configured_nodes(daemon)) == 1
    assert daemon.settings.get("nodes")[0]["token_value"] == env["STUB_TOKEN_SECRET"]


async def test_pbs_script_registers_node(daemon_factory, sim, proxmox_node) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pbs", host=sim.pbs_url)
    env = proxmox_node.env(STUB_PBS_FINGERPRINT=sim.pbs_fingerprint)
    allow_token(sim, "pbs", PBS_USER, issued["tokenName"], env)

    result = await run_script(issued["script"], proxmox_node, env)

    assert result.returncode == 0, result.stderr.decode()
    token = issued["tokenName"]
    full = f"{PBS_USER}!{token}"
    assert proxmox_node.calls("proxmox-backup-manager") == [
        ["proxmox-backup-manager", "user", "list", "--output-format", "json"],
        ["proxmox-backup-manager", "user", "create", PBS_USER, "--comment", "Pulse monitoring"],
        ["proxmox-backup-manager", "user", "list-tokens", PBS_USER, "--output-format", "json"],
        ["proxmox-backup-manager", "user", "generate-token", PBS_USER, token, "--output-format", "json"],
        ["proxmox-backup-manager", "acl", "update", "/", "Audit", "--auth-id", PBS_USER],
        ["proxmox-backup-manager", "acl", "update", "/", "Audit", "--auth-id", full],
        ["proxmox-backup-manager", "cert", "info"],
    ]
    [node] = await configured_nodes(daemon)
    assert node["type"] == "pbs"
    assert node["fingerprint"].upper() == sim.pbs_fingerprint

    proxmox_node.clear_log()
    issued = await request_script(daemon, type="pbs", host=sim.pbs_url)
    env = proxmox_node.env(STUB_PBS_FINGERPRINT=sim.pbs_fingerprint)
    allow_token(sim, "pbs", PBS_USER, issued["tokenName"], env)
    second = await run_script(issued["script"], proxmox_node, env)

    assert second.returncode == 0, second.stderr.decode()
    calls = proxmox_node.calls("proxmox-backup-manager")
    assert ["proxmox-backup-manager", "user", "delete-token", PBS_USER, token] in calls
    assert ["proxmox-backup-manager", "user", "create", PBS_USER, "--comment", "Pulse monitoring"] not in calls
    assert len(await configured_nodes(daemon)) == 1
    assert daemon.settings.get("nodes")[0]["token_value"] == env["STUB_TOKEN_SECRET"]


@pytest.mark.parametrize("kind", ["pve", "pbs"])
async def test_scripts_pass_shellcheck(daemon_factory, sim, tmp_path, kind) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    daemon = await daemon_factory()
    issued = await request_script(daemon, type=kind, host="https://pve1.example.com", backupAccess=kind == "pve")
    script = tmp_path / f"{kind}.sh"
    script.write_text(issued["script"])

    result = await trio.run_process([shellcheck, "--severity=style", str(script)], capture_stdout=True, check=False)

    assert result.returncode == 0, result.stdout.decode()


async def test_script_keeps_code_out_of_urls(daemon_factory) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pve", host="pve1.example.com")

    script = issued["script"]
    lines = [line for line in script.splitlines() if issued["setupCode"] in line]
    assert lines == [f"SETUP_CODE={issued['setupCode']}"] or lines == [f"SETUP_CODE='{issued['setupCode']}'"]
    assert issued["host"] == "https://pve1.example.com:8006"
    assert "X-Pulse-Setup-Code" in script
    assert issued["expiresAt"] > 0


@pytest.mark.parametrize("body, message", [
    ({"type": "xen", "host": "h"}, "type: must be 'pve' or 'pbs'"),
    ({"type": "pve"}, "host: required"),
    ({"type": "pve", "host": "http://pve1:8006"}, "host: 'http://pve1:8006' is not a node address"),
    ({"type": "pve", "host": "pve1; rm -rf /"}, "host:"),
    ({"type": "pbs", "host": "pbs1", "backupAccess": True}, "backupAccess: applies only to Proxmox VE nodes"),
    ({"type": "pve", "host": "pve1", "pulseUrl": "http://x/'y"}, "pulseUrl:"),
    ({"type": "pve", "host": "pve1", "extra": 1}, "extra: unknown field"),
])
async def test_setup_script_rejects_bad_input(daemon_factory, body, message) -> None:
    daemon = await daemon_factory()
    async with client_for(daemon) as client:
        response = await client.post("/api/setup-script", json=body)

    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


async def test_register_needs_code_not_session(daemon_factory, sim) -> None:
    daemon = await daemon_factory(overrides={"auth.api_token": "canary-token-0123456789abcdef"})
    async with client_for(daemon) as client:
        anonymous = await client.post("/api/setup-script", json={"type": "pve", "host": sim.pve_url})
        register = await client.post("/api/auto-register", json={"type": "pve", "host": sim.pve_url},
                                     headers={"X-Pulse-Setup-Code": "guessed"})
        missing = await client.post("/api/auto-register", json={"type": "pve", "host": sim.pve_url})

    assert anonymous.status_code == 401
    assert register.status_code == 401
    assert register.json()["error"].startswith("setup code invalid, expired or already used")
    assert missing.status_code == 401
    assert missing.json()["error"].startswith("setup code missing")


async def test_register_rejects_other_host(daemon_factory, sim) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pve", host=sim.pve_url)
    body = {"type": "pve", "host": "https://127.0.0.1:1", "tokenId": f"{PVE_USER}!x", "tokenValue": "v"}
    async with client_for(daemon, headers={"X-Pulse-Setup-Code": issued["setupCode"]}) as client:
        other_host = await client.post("/api/auto-register", json=body)
        bad_token = await client.post("/api/auto-register", json={**body, "host": sim.pve_url})

    assert other_host.status_code == 400
    assert other_host.json()["error"].startswith(f"host: the setup code was issued for {sim.pve_url}")
    assert bad_token.status_code == 400
    assert bad_token.json()["error"].startswith("connection test failed: ")
    assert "authentication failed; check the API token" in bad_token.json()["error"]
    assert await configured_nodes(daemon) == []


async def test_register_merges_same_cluster(daemon_factory, sim, proxmox_node) -> None:
    existing = {"id": "lab", "type": "pve", "name": "lab", "host": "https://127.0.0.1:1", "user": "root@pam",
                "token_name": "old", "token_value": "old-secret", "verify_ssl": False, "fingerprint": None,
                "enabled": False, "options": {}, "cluster_name": "demo"}
    daemon = await daemon_factory(nodes=[existing])

    result, _, env = await run_pve(daemon, sim, proxmox_node)

    assert result.returncode == 0, result.stderr.decode()
    [node] = daemon.settings.get("nodes")
    assert node["id"] == "lab"
    assert node["host"] == "https://127.0.0.1:1"
    assert node["token_value"] == env["STUB_TOKEN_SECRET"]
    assert node["user"] == PVE_USER
    assert "updated" in result.stdout.decode()


def test_setup_codes_expire_and_are_single_use() -> None:
    now = [1_000.0]
    codes = SetupCodes(clock=lambda: now[0])
    code, expires = codes.issue("pve", "https://a:8006", "admin")
    assert expires == 1_000.0 + CODE_TTL_SECONDS
    key, pending = codes.claim(code)
    with pytest.raises(ApiError, match="already used"):
        codes.claim(code)
    codes.release(key, pending)
    assert codes.claim(code)[1].host == "https://a:8006"

    late, _ = codes.issue("pve", "https://a:8006", "admin")
    now[0] += CODE_TTL_SECONDS + 1
    with pytest.raises(ApiError, match="expired"):
        codes.claim(late)


def test_setup_codes_are_stored_hashed() -> None:
    codes = SetupCodes()
    code, _ = codes.issue("pbs", "https://b:8007", "admin")

    assert code not in repr(codes._pending)
    assert all(len(key) == 64 for key in codes._pending)



async def test_register_accepts_reference_body(daemon_factory, sim) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pve", host=sim.pve_url)
    body = {"type": "pve", "host": sim.pve_url, "name": "Node Name", "username": sim.pve_token["user"],
            "tokenId": sim.pve_token["token_name"], "tokenValue": sim.pve_token["token_value"]}
    async with client_for(daemon, headers={"X-Pulse-Setup-Code": issued["setupCode"]}) as client:
        response = await client.post("/api/auto-register", json=body)

    assert response.status_code == 201, response.text
    registered = response.json()
    assert registered["action"] == "created"
    assert registered["fingerprintSource"] == "observed"
    assert registered["fingerprint"] == sim.fingerprint
    assert registered["node"]["tokenName"] == sim.pve_token["token_name"]
    events = await daemon.storage.query_audit(limit=20)
    [event] = [event for event in events if event["action"] == "node.auto_register"]
    assert event["client"] == "127.0.0.1"
    assert event["node"] == registered["node"]["id"]


async def test_code_check_leaves_code_usable(daemon_factory, sim) -> None:
    daemon = await daemon_factory()
    issued = await request_script(daemon, type="pve", host=sim.pve_url)
    async with client_for(daemon, headers={"X-Pulse-Setup-Code": issued["setupCode"]}) as client:
        first = await client.post("/api/auto-register", json={"type": "pve", "host": sim.pve_url, "checkOnly": True})
        second = await client.post("/api/auto-register", json={"type": "pve", "host": sim.pve_url, "checkOnly": True})
        wrong_type = await client.post("/api/auto-register", json={"type": "pbs", "host": sim.pve_url, "checkOnly": True})

    assert first.status_code == 200
    assert first.json()["valid"] is True
    assert second.status_code == 200
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"].startswith("type: the setup code was issued for a pve node")
