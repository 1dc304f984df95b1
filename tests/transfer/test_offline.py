"""Bundles at the real iteration count, headless bootstrap on first start, and the export/import CLI."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio

from pulse_core import transfer
from pulse_core.cli import main
from pulse_core.config import SettingsStore
from pulse_core.errors import ConfigError, TransferError
from pulse_core.testing.fixtures import simulator_nodes, wait_until

from .conftest import PASSPHRASE, TEST_KDF_ITERATIONS, client_for

ALERTS = {"guest": {"cpu": {"trigger": 80, "clear": 70}}}


def make_store(path: Path, sections: dict[str, Any]) -> SettingsStore:
    path.mkdir(parents=True, exist_ok=True)
    store = SettingsStore(path)
    store.replace_sync(sections)
    return store


def test_bundle_uses_real_kdf_parameters() -> None:
    data = transfer.seal(b'{"x": 1}', PASSPHRASE)
    header, _packed, ciphertext = transfer.read_header(data)

    assert header.version == 1
    assert header.iterations == 600_000
    assert len(header.salt) == 32
    assert len(header.nonce) == 12
    assert len(ciphertext) == len(b'{"x": 1}') + 16
    assert transfer.open_bundle(data, PASSPHRASE) == b'{"x": 1}'


def test_bundle_rejects_lowered_iterations_by_default() -> None:
    data = transfer.seal(b"{}", PASSPHRASE, iterations=TEST_KDF_ITERATIONS)

    with pytest.raises(TransferError, match="asks for 1000 PBKDF2 iterations, outside the accepted range"):
        transfer.open_bundle(data, PASSPHRASE)


def test_two_exports_differ_in_salt_and_nonce() -> None:
    first, _, _ = transfer.read_header(transfer.seal(b"{}", PASSPHRASE, iterations=TEST_KDF_ITERATIONS),
                                       min_iterations=TEST_KDF_ITERATIONS)
    second, _, _ = transfer.read_header(transfer.seal(b"{}", PASSPHRASE, iterations=TEST_KDF_ITERATIONS),
                                        min_iterations=TEST_KDF_ITERATIONS)

    assert first.salt != second.salt
    assert first.nonce != second.nonce


async def test_bootstrap_imports_on_first_start(daemon_factory, sim, tmp_path, monkeypatch) -> None:
    source = make_store(tmp_path / "source", {"nodes": simulator_nodes(sim), "alerts": ALERTS})
    bundle_file = tmp_path / "bundle.txt"
    bundle_file.write_text(transfer.export_sync(source, PASSPHRASE)[0])
    monkeypatch.setenv(transfer.INIT_FILE_ENV, str(bundle_file))
    monkeypatch.setenv(transfer.INIT_PASSPHRASE_ENV, PASSPHRASE)

    daemon = await daemon_factory()

    assert daemon.initial_import is not None
    assert [node.id for node in daemon.configured_nodes()] == ["demo", "demo-pbs"]
    await wait_until(lambda: {"demo", "demo-pbs"} <= set(daemon.state.instances))
    assert daemon.alerts.config.guest.cpu.trigger == 80
    events = await daemon.storage.query_audit(limit=20)
    [event] = [event for event in events if event["action"] == "config.import.bootstrap"]
    assert event["nodes"] == ["demo", "demo-pbs"]


async def test_bootstrap_skips_configured_store(daemon_factory, sim, tmp_path, monkeypatch) -> None:
    source = make_store(tmp_path / "source", {"nodes": simulator_nodes(sim)})
    bundle_file = tmp_path / "bundle.txt"
    bundle_file.write_text(transfer.export_sync(source, PASSPHRASE, iterations=TEST_KDF_ITERATIONS)[0])
    data_dir = tmp_path / "configured"
    make_store(data_dir, {"system": {"theme": "dark"}})
    monkeypatch.setenv(transfer.INIT_FILE_ENV, str(bundle_file))
    monkeypatch.setenv(transfer.INIT_PASSPHRASE_ENV, PASSPHRASE)

    daemon = await daemon_factory(data_dir=data_dir)

    assert daemon.initial_import is None
    assert daemon.configured_nodes() == []


@pytest.mark.parametrize("passphrase, file_text, message", [
    ("", "x", "PULSE_INIT_CONFIG_PASSPHRASE: required"),
    ("wrong passphrase here", None, "wrong passphrase"),
    (PASSPHRASE, "garbage!", "data: not valid base64"),
])
async def test_bootstrap_failure_stops_start(daemon_factory, tmp_path, monkeypatch, passphrase, file_text, message) -> None:
    bundle_file = tmp_path / "bundle.txt"
    source = make_store(tmp_path / "source", {"system": {"theme": "dark"}})
    bundle_file.write_text(file_text if file_text is not None else transfer.export_sync(source, PASSPHRASE)[0])
    monkeypatch.setenv(transfer.INIT_FILE_ENV, str(bundle_file))
    monkeypatch.setenv(transfer.INIT_PASSPHRASE_ENV, passphrase)

    with pytest.raises(ConfigError, match=message):
        await daemon_factory()


async def test_bootstrap_missing_file_names_it(daemon_factory, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(transfer.INIT_FILE_ENV, str(tmp_path / "absent.txt"))
    monkeypatch.setenv(transfer.INIT_PASSPHRASE_ENV, PASSPHRASE)

    with pytest.raises(ConfigError, match="PULSE_INIT_CONFIG_FILE: cannot read .*absent.txt"):
        await daemon_factory()


def run_cli(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


async def test_cli_round_trip_on_stopped_data_dirs(sim_nodes, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("PULSE_DATA_DIR", raising=False)
    make_store(tmp_path / "a", {"nodes": sim_nodes, "alerts": ALERTS})
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    bundle = tmp_path / "bundle.txt"

    status, _, err = run_cli(["export", "--data-dir", str(tmp_path / "a"), "--passphrase-file",
                              str(tmp_path / "pass"), "-o", str(bundle)], capsys)
    assert status == 0, err
    assert bundle.stat().st_mode & 0o777 == 0o600
    status, out, err = run_cli(["import", "--data-dir", str(tmp_path / "b"), "--passphrase-file",
                                str(tmp_path / "pass"), str(bundle)], capsys)

    assert status == 0, err
    assert "nodes: demo, demo-pbs" in out
    imported = SettingsStore(tmp_path / "b")
    assert imported.get("nodes") == sim_nodes
    assert imported.get("alerts") == ALERTS


def test_cli_refuses_running_daemon_dir(tmp_path, capsys, monkeypatch) -> None:
    make_store(tmp_path / "a", {"system": {"theme": "dark"}})
    (tmp_path / "a" / "pulse.pid").write_text(f"{os.getpid()}\n")
    monkeypatch.setenv("PULSE_PASSPHRASE", PASSPHRASE)

    status, _, err = run_cli(["export", "--data-dir", str(tmp_path / "a")], capsys)

    assert status == 1
    assert f"Pulse is running on {tmp_path / 'a'} (pid {os.getpid()}); stop it first" in err


def test_cli_import_reports_wrong_passphrase(tmp_path, capsys, monkeypatch) -> None:
    source = make_store(tmp_path / "a", {"system": {"theme": "dark"}})
    bundle = tmp_path / "bundle.txt"
    bundle.write_text(transfer.seal(orjson.dumps(transfer.build_content(source)), PASSPHRASE))
    monkeypatch.setenv("PULSE_PASSPHRASE", "another passphrase")

    status, _, err = run_cli(["import", "--data-dir", str(tmp_path / "b"), str(bundle)], capsys)

    assert status == 1
    assert "wrong passphrase" in err
    assert not (tmp_path / "b" / "settings.json").exists()


def test_cli_export_requires_passphrase_source(tmp_path, capsys, monkeypatch) -> None:
    make_store(tmp_path / "a", {"system": {"theme": "dark"}})
    monkeypatch.delenv("PULSE_PASSPHRASE", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    status, _, err = run_cli(["export", "--data-dir", str(tmp_path / "a")], capsys)

    assert status == 1
    assert "passphrase: missing; use --passphrase-file or set PULSE_PASSPHRASE" in err


async def test_cli_against_running_instance(daemon_factory, sim, tmp_path, capsys, monkeypatch) -> None:
    source = await daemon_factory(nodes=simulator_nodes(sim)[:1])
    target = await daemon_factory()
    monkeypatch.setenv("PULSE_PASSPHRASE", PASSPHRASE)
    bundle = tmp_path / "bundle.txt"

    status = await trio.to_thread.run_sync(main, ["export", "--url", source.bound_urls[0], "-o", str(bundle)])
    assert status == 0
    status = await trio.to_thread.run_sync(main, ["import", "--url", target.bound_urls[0], str(bundle)])

    assert status == 0
    assert [node.id for node in target.configured_nodes()] == ["demo"]
    async with client_for(target) as client:
        assert [node["id"] for node in (await client.get("/api/config/nodes")).json()] == ["demo"]


async def test_cli_imports_web_ui_export_file(daemon_factory, sim, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("PULSE_DATA_DIR", raising=False)
    nodes = simulator_nodes(sim)
    nodes[0]["name"] = "Büro PVE"
    source = await daemon_factory(real_kdf=True, nodes=nodes)
    async with client_for(source) as client:
        response = await client.post("/api/config/export", json={"passphrase": PASSPHRASE})
    assert response.status_code == 200, response.text
    # The web UI saves the response document as JSON.stringify writes it: compact, non-ASCII kept.
    ui_file = tmp_path / "pulse-config-2026-12-05.json"
    ui_file.write_text(json.dumps(response.json(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")

    status, out, err = await trio.to_thread.run_sync(run_cli, ["import", "--data-dir", str(tmp_path / "b"),
                                                               "--passphrase-file", str(tmp_path / "pass"),
                                                               str(ui_file)], capsys)

    assert status == 0, err
    assert "nodes: demo, demo-pbs" in out
    assert SettingsStore(tmp_path / "b").get("nodes") == nodes


@pytest.mark.parametrize("file_text, reason", [
    ("this is not a bundle!", "data: not valid base64 text"),
    ('{"data": 42}', 'data: the JSON file has no "data" text field'),
    ('{"passphrase": "x"}', 'data: the JSON file has no "data" text field'),
    ('{"data": "UFVMU0VDRkc=", "format": "other"}', "data: the JSON file has format 'other'"),
    ('{"data": "UFVM', "data: starts like JSON but is not valid JSON"),
    ("[1, 2]", "data: not valid base64 text"),
])
def test_cli_import_names_expected_forms(tmp_path, capsys, monkeypatch, file_text, reason) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(file_text)
    monkeypatch.setenv("PULSE_PASSPHRASE", PASSPHRASE)

    status, _, err = run_cli(["import", "--data-dir", str(tmp_path / "b"), str(bundle)], capsys)

    assert status == 1
    assert reason in err
    assert "expected the base64 bundle that `pulse export` writes, or the JSON file" in err
    assert not (tmp_path / "b" / "settings.json").exists()


async def test_cli_export_imports_through_web_ui_route(daemon_factory, sim_nodes, tmp_path, capsys,
                                                       monkeypatch) -> None:
    monkeypatch.delenv("PULSE_DATA_DIR", raising=False)
    make_store(tmp_path / "a", {"nodes": sim_nodes, "alerts": ALERTS})
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    bundle = tmp_path / "bundle.txt"
    status, _, err = await trio.to_thread.run_sync(run_cli, ["export", "--data-dir", str(tmp_path / "a"),
                                                             "--passphrase-file", str(tmp_path / "pass"),
                                                             "-o", str(bundle)], capsys)
    assert status == 0, err
    target = await daemon_factory()

    # The web UI posts a file that is not JSON as its text, trailing newline included.
    async with client_for(target) as client:
        response = await client.post("/api/config/import",
                                     json={"data": bundle.read_text(), "passphrase": PASSPHRASE})

    assert response.status_code == 200, response.text
    assert [node["id"] for node in response.json()["imported"]["nodes"]] == ["demo", "demo-pbs"]
    assert [node.id for node in target.configured_nodes()] == ["demo", "demo-pbs"]
    assert target.alerts.config.guest.cpu.trigger == 80


@pytest.fixture
async def sim_nodes(sim) -> list[dict[str, Any]]:
    return simulator_nodes(sim)
