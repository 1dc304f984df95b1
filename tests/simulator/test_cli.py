"""``pulse simulate`` options and output."""

from __future__ import annotations

import argparse
import re
import socket
from pathlib import Path

import httpx
import pytest
import trio

from pulse_core.simulator import SimulatorError, open_simulator
from pulse_core.simulator.cli import add_arguments, run_from_args, scenario_from_args

from .conftest import small_scenario


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_the_demo() -> None:
    scenario = scenario_from_args(parse())
    assert (scenario.nodes, scenario.guests, scenario.cluster_name) == (3, 30, "demo")
    assert scenario.pbs is not None


def test_large_from_counts() -> None:
    scenario = scenario_from_args(parse("--nodes", "16", "--guests", "2500", "--seed", "5"))
    assert (scenario.nodes, scenario.guests, scenario.seed) == (16, 2500, 5)


def test_standalone_option() -> None:
    scenario = scenario_from_args(parse("--standalone"))
    assert scenario.nodes == 1
    assert scenario.cluster_name is None


def test_scenario_file_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "estate.yaml"
    path.write_text("nodes: 2\nguests: 4\npbs: false\n", encoding="utf-8")
    scenario = scenario_from_args(parse("--scenario", str(path), "--guests", "6", "--pbs"))
    assert (scenario.nodes, scenario.guests) == (2, 6)
    assert scenario.pbs is not None


async def test_invalid_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        await run_from_args(parse("--nodes", "0"))
    assert caught.value.code == 2
    assert "nodes: must be at least 1" in capsys.readouterr().err


async def test_run_prints_working_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_from_args, parse("--guests", "5", "--nodes", "2"))
        output = ""
        for _ in range(200):
            await trio.sleep(0.01)
            output += capsys.readouterr().out
            if "Faults and time" in output:
                break
        url = re.search(r"Proxmox VE simulator: (\S+)", output).group(1)
        token = re.search(r"API token: (\S+) = (\S+)", output)
        fingerprint = re.search(r"fingerprint \(SHA-256\): (\S+)", output).group(1)
        assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fingerprint)
        async with httpx.AsyncClient(verify=False) as client:
            response = await client.get(
                url + "/api2/json/cluster/status",
                headers={"Authorization": f"PVEAPIToken={token.group(1)}={token.group(2)}"},
            )
        nursery.cancel_scope.cancel()
    assert response.status_code == 200
    assert len([entry for entry in response.json()["data"] if entry["type"] == "node"]) == 2


async def test_plain_http_option(capsys: pytest.CaptureFixture[str]) -> None:
    async with open_simulator(small_scenario(pbs=None), tls=False) as sim:
        assert sim.pve_url.startswith("http://")
        assert sim.fingerprint is None
        async with httpx.AsyncClient(headers=sim.pve_headers()) as client:
            assert (await client.get(sim.pve_url + "/api2/json/version")).status_code == 200


async def test_taken_port_is_a_clear_error() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        with pytest.raises(SimulatorError, match=f"cannot listen on 127.0.0.1:{port}"):
            async with open_simulator(small_scenario(pbs=None), pve_port=port):
                pass
