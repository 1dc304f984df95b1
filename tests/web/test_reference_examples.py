"""The API reference's curl and Python examples, run against a live Pulse.

The examples are read from the reference document itself and changed only where
they must be for a test machine. ``http://localhost:7655`` becomes the test
server on 127.0.0.1, and the Proxmox host ``https://192.168.1.100:8006`` becomes the
local simulator. The example credentials (``monitor@pve`` / ``root@pam`` with
``password``) become the simulator's ``root@pam`` password, and both example
tokens become the token the test server is configured with. The Python
example's loop body is re-indented because the reference text lost its
indentation. Examples for other areas (webhooks, export, auto-register) are not
run here, because they would contact external hosts or belong to those areas'
tests.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from .conftest import simulator_nodes, wait_until

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "api-reference.txt"
TOKEN = "your-token"
# API paths whose curl examples this module runs.
RUN_PATHS = ("/api/health", "/api/state", "/api/charts", "/api/config/nodes")


def reference_text() -> str:
    if not REFERENCE.is_file():
        pytest.skip(f"the API reference is not at {REFERENCE}; it lives in the shared folder beside the repository")
    return REFERENCE.read_text(encoding="utf-8")


def curl_examples(text: str) -> list[str]:
    """Return each ``curl`` command with its continuation lines and quoted JSON body."""
    lines = text.splitlines()
    commands = []
    index = 0
    while index < len(lines):
        if lines[index].startswith("curl "):
            block = [lines[index]]
            while block[-1].rstrip().endswith("\\") or "\n".join(block).count("'") % 2:
                index += 1
                block.append(lines[index])
            commands.append("\n".join(block))
        index += 1
    return commands


def python_example(text: str) -> str:
    """Return the Python example; the reference lost its indentation, so one-line block bodies get it back."""
    lines = []
    indent_next = False
    for line in text[text.index("import requests"):].splitlines():
        lines.append(("    " if indent_next else "") + line)
        indent_next = line.rstrip().endswith(":")
    return "\n".join(lines) + "\n"


def rewrite(command: str, base: str, sim: Any) -> str:
    command = command.replace("http://localhost:7655", base)
    command = command.replace("https://192.168.1.100:8006", sim.pve_url)
    command = command.replace('"password": "password"', f'"password": {json.dumps(sim.pve_password)}')
    command = command.replace("monitor@pve", "root@pam")
    return command.replace("your-secure-token", TOKEN)


@pytest.fixture
async def token_server(live_factory: Any, sim: Any) -> Any:
    nodes = [node for node in simulator_nodes(sim) if node["type"] == "pve"]
    daemon = await live_factory(nodes=nodes, overrides={"auth.api_token": TOKEN})
    await wait_until(lambda: bool(daemon.state.all("guests")))
    return daemon


async def test_curl_examples_run_as_written(token_server: Any, sim: Any) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    base = token_server.bound_urls[0]
    examples = [command for command in curl_examples(reference_text()) if "localhost:7655/api/" in command]
    selected = [command for command in examples if re.search(r"localhost:7655(/api/[\w/.-]+)", command).group(1).startswith(RUN_PATHS)]
    assert len(selected) >= 6, selected

    for command in selected:
        result = await trio.run_process(
            ["bash", "-c", rewrite(command, base, sim) + " --silent --show-error --write-out '\\n%{http_code}'"],
            capture_stdout=True, capture_stderr=True, check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        body, _, status = result.stdout.decode().rpartition("\n")
        assert status in ("200", "201"), (command, status, body)
        assert isinstance(json.loads(body), dict | list), command

    async with httpx.AsyncClient(base_url=base, headers={"X-API-Token": TOKEN}) as client:
        names = {node["id"] for node in (await client.get("/api/config/nodes")).json()}
    assert {"pve-node-1", "my-pve-node"} <= names
    await wait_until(lambda: "pve-node-1" in token_server.state.instances and bool(token_server.state.instances["pve-node-1"].guests))


async def test_python_example_runs_as_written(token_server: Any) -> None:
    code = python_example(reference_text()).replace("http://localhost:7655", token_server.bound_urls[0])
    code = code.replace("your-secure-token", TOKEN)

    result = await trio.run_process([sys.executable, "-c", code], capture_stdout=True, capture_stderr=True, check=False)

    output = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "Status: healthy" in output
    for node in token_server.state.all("nodes"):
        assert f"Node: {node.name} - {node.status}" in output
