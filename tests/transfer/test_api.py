"""Export and import through the HTTP API of running daemons, applied without a restart."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from pulse_core import transfer
from pulse_core.config import SettingsStore
from pulse_core.testing.fixtures import simulator_nodes, wait_until

from .conftest import PASSPHRASE, TEST_KDF_ITERATIONS, client_for

# A valid node that nothing listens for; these tests never get as far as polling it.
CLOSED_PORT_NODE = {"id": "lab", "type": "pve", "name": "lab", "host": "https://127.0.0.1:1", "user": "root@pam",
                    "token_name": "pulse", "token_value": "secret", "verify_ssl": False, "enabled": True, "options": {}}
WEBHOOK = {"name": "ops hook", "url": "http://127.0.0.1:9/hooks/pulse", "service": "generic", "method": "POST"}


def decrypt(data: str, iterations: int = TEST_KDF_ITERATIONS) -> dict[str, Any]:
    return orjson.loads(transfer.open_bundle(data, PASSPHRASE, min_iterations=iterations))


def polled(daemon: Any, instance: str) -> bool:
    inst = daemon.state.instances.get(instance)
    return inst is not None and inst.health is not None and inst.health.healthy


async def export(daemon: Any, passphrase: str = PASSPHRASE) -> Any:
    async with client_for(daemon) as client:
        return await client.post("/api/config/export", json={"passphrase": passphrase})


async def import_bundle(daemon: Any, data: Any, passphrase: str = PASSPHRASE) -> Any:
    async with client_for(daemon) as client:
        return await client.post("/api/config/import", json={"data": data, "passphrase": passphrase})


async def configure_source(daemon: Any) -> None:
    """Give a daemon a guest CPU trigger of 80, one webhook and a guest console URL."""
    async with client_for(daemon) as client:
        response = await client.post("/api/notifications/thresholds",
                                     json={"guest": {"cpu": {"trigger": 80, "clear": 70}}})
        assert response.status_code == 200, response.text
        response = await client.post("/api/notifications/webhooks", json=WEBHOOK)
        assert response.status_code == 201, response.text
        response = await client.put("/api/guests/demo-100/metadata", json={"customUrl": "https://console.example/100"})
        assert response.status_code == 200, response.text


async def test_import_applies_without_restart(daemon_factory, sim) -> None:
    source = await daemon_factory(nodes=simulator_nodes(sim), real_kdf=True)
    await configure_source(source)
    target = await daemon_factory(real_kdf=True)
    async with client_for(target) as client:
        await client.post("/api/notifications/thresholds", json={"guest": {"cpu": {"trigger": 95, "clear": 90}}})
    assert target.alerts.config.guest.cpu.trigger == 95

    exported = await export(source)
    assert exported.status_code == 200, exported.text
    header, _, _ = transfer.read_header(exported.json()["data"])
    assert header.iterations == 600_000
    response = await import_bundle(target, exported.json()["data"])

    assert response.status_code == 200, response.text
    imported = response.json()["imported"]
    assert [node["id"] for node in imported["nodes"]] == ["demo", "demo-pbs"]
    assert imported["webhooks"] == 1
    await wait_until(lambda: polled(target, "demo") and polled(target, "demo-pbs"))
    assert len(target.configured_nodes()) == 2
    assert target.alerts.config.guest.cpu.trigger == 80
    await wait_until(lambda: len(target.dispatcher.channels) == 1)
    assert [channel_id.split(":")[0] for channel_id in target.dispatcher.channels] == ["webhook"]


async def test_round_trip_yields_equivalent_export(daemon_factory, sim) -> None:
    source = await daemon_factory(nodes=simulator_nodes(sim))
    await configure_source(source)
    first = (await export(source)).json()["data"]
    target = await daemon_factory()

    assert (await import_bundle(target, first)).status_code == 200
    second = (await export(target)).json()["data"]

    assert first != second  # new salt and nonce
    assert decrypt(second)["sections"] == decrypt(first)["sections"]
    assert set(decrypt(first)["sections"]) >= {"nodes", "alerts", "notifications_webhooks", "guest_metadata"}


async def test_import_accepts_export_file_text(daemon_factory) -> None:
    source = await daemon_factory(nodes=[CLOSED_PORT_NODE])
    exported = await export(source)
    assert exported.status_code == 200, exported.text
    target = await daemon_factory()

    # The whole downloaded file as data, for clients that do not unwrap it like the web UI does.
    response = await import_bundle(target, exported.text)

    assert response.status_code == 200, response.text
    assert [node["id"] for node in response.json()["imported"]["nodes"]] == ["lab"]
    assert [node.id for node in target.configured_nodes()] == ["lab"]


async def test_export_carries_credentials_and_metadata(daemon_factory, sim) -> None:
    source = await daemon_factory(nodes=simulator_nodes(sim))
    await configure_source(source)

    content = decrypt((await export(source)).json()["data"])

    nodes = content["sections"]["nodes"]
    assert nodes[0]["token_value"] == sim.pve_token["token_value"]
    assert content["sections"]["notifications_webhooks"][0]["url"] == WEBHOOK["url"]
    assert content["sections"]["guest_metadata"] == {"demo-100": {"custom_url": "https://console.example/100"}}
    assert "security" not in content["sections"]
    assert "api_tokens" not in content["sections"]


@pytest.mark.parametrize("passphrase, reason", [
    ("", "passphrase: required"),
    ("short", "passphrase: too short (5 characters)"),
    (12345678901234, "passphrase: required"),
])
async def test_export_rejects_bad_passphrase(daemon_factory, passphrase, reason) -> None:
    daemon = await daemon_factory()
    async with client_for(daemon) as client:
        response = await client.post("/api/config/export", json={"passphrase": passphrase})

    assert response.status_code == 400
    assert response.json()["error"].startswith(reason)


def _flip(data: str, offset: int) -> str:
    raw = bytearray(base64.b64decode(data))
    raw[offset] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _with_version(data: str, version: int) -> str:
    raw = bytearray(base64.b64decode(data))
    raw[len(transfer.MAGIC)] = version
    return base64.b64encode(bytes(raw)).decode()


def _sealed(content: dict[str, Any]) -> str:
    return transfer.seal(orjson.dumps(content), PASSPHRASE, iterations=TEST_KDF_ITERATIONS)


def _content(sections: dict[str, Any]) -> dict[str, Any]:
    return {"format": "pulse-config", "version": 1, "exportedAt": 0, "pulseVersion": "0.1.0", "sections": sections}


BAD_BUNDLES = {
    "wrong passphrase": (lambda good: good, "wrong passphrase", "passphrase: wrong passphrase"),
    "corrupted": (lambda good: _flip(good, -5), None, "passphrase: wrong passphrase, or the data was changed"),
    "header changed": (lambda good: _flip(good, 20), None, "passphrase: wrong passphrase, or the data was changed"),
    "truncated": (lambda good: good[: len(good) // 8 * 4], None, "passphrase: wrong passphrase, or the data was changed or truncated"),
    "truncated mid-character": (lambda good: good[:-1], None, "data: not valid base64"),
    "truncated header": (lambda good: base64.b64encode(base64.b64decode(good)[:30]).decode(), None, "data: truncated"),
    "not base64": (lambda good: "this is not a bundle!", None, "data: not valid base64"),
    "not a bundle": (lambda good: base64.b64encode(b"x" * 100).decode(), None, "data: not a Pulse configuration"),
    "unknown version": (lambda good: _with_version(good, 9), None, "data: export format version 9 is not supported"),
    "missing data": (lambda good: None, None, "data: required"),
    "invalid node": (lambda good: _sealed(_content({"nodes": [{"id": "a", "type": "pve"}]})), None,
                     "data: invalid content: nodes[0] (a).host: required"),
    "unknown node type": (lambda good: _sealed(_content({"nodes": [{"id": "a", "type": "xen", "host": "h"}]})), None,
                          "data: invalid content: nodes[0] (a).type: unknown node type 'xen'"),
    "invalid threshold": (lambda good: _sealed(_content({"alerts": {"guest": {"cpu": {"trigger": 300, "clear": 1}}}})),
                          None, "data: invalid content: alerts.guest.cpu.trigger"),
    "invalid system setting": (lambda good: _sealed(_content({"system": {"polling_interval": 0}})), None,
                               "data: invalid content: system.pollingInterval"),
    "unknown section": (lambda good: _sealed(_content({"security": {}})), None,
                        "data: invalid content: sections.security: unknown section"),
    "broken webhook list": (lambda good: _sealed(_content({"notifications_webhooks": ["x"]})), None,
                            "data: invalid content: notifications_webhooks: expected a list of objects"),
    "webhook without id": (lambda good: _sealed(_content({"notifications_webhooks": [{"url": "http://127.0.0.1:9/"}]})),
                           None, "data: invalid content: notifications_webhooks: the webhook notifier cannot use"),
    "bad console URL": (lambda good: _sealed(_content({"guest_metadata": {"pve-100": {"custom_url": "ftp://x"}}})),
                        None, "data: invalid content: guest_metadata.pve-100.custom_url"),
    "not a configuration": (lambda good: transfer.seal(b"[1, 2]", PASSPHRASE, iterations=TEST_KDF_ITERATIONS), None,
                            "data: invalid content; the decrypted bundle is not a Pulse configuration"),
}


@pytest.mark.parametrize("case", sorted(BAD_BUNDLES))
async def test_import_rejects_bad_bundle(daemon_factory, tmp_path, case) -> None:
    source = SettingsStore(tmp_path)
    source.replace_sync({"nodes": [CLOSED_PORT_NODE], "notifications_webhooks": [], "guest_metadata": {}})
    good = transfer.export_sync(source, PASSPHRASE, iterations=TEST_KDF_ITERATIONS)[0]
    target = await daemon_factory()
    async with client_for(target) as client:
        await client.post("/api/notifications/thresholds", json={"guest": {"cpu": {"trigger": 95, "clear": 90}}})
    before = target.settings.snapshot()
    settings_file = target.settings.path.read_bytes()
    mutate, passphrase, message = BAD_BUNDLES[case]

    response = await import_bundle(target, mutate(good), passphrase or PASSPHRASE)

    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(message), response.json()["error"]
    assert target.settings.snapshot() == before
    assert target.settings.path.read_bytes() == settings_file


async def test_import_writes_all_sections_in_one_save(daemon_factory, sim) -> None:
    source = await daemon_factory(nodes=simulator_nodes(sim))
    await configure_source(source)
    bundle = (await export(source)).json()["data"]
    target = await daemon_factory()
    saves: list[str] = []
    target.settings.subscribe(lambda section, value: saves.append(section))
    writes = 0
    original = target.settings._write

    def counting_write(data: dict[str, Any]) -> None:
        nonlocal writes
        writes += 1
        original(data)

    target.settings._write = counting_write  # type: ignore[method-assign]

    assert (await import_bundle(target, bundle)).status_code == 200
    assert writes == 1
    assert sorted(saves) == sorted(decrypt(bundle)["sections"])


async def test_import_rejects_unknown_fields(daemon_factory) -> None:
    daemon = await daemon_factory()
    async with client_for(daemon) as client:
        response = await client.post("/api/config/import", json={"data": "x", "passphrase": PASSPHRASE, "mode": "merge"})

    assert response.status_code == 400
    assert response.json()["error"].startswith("mode: unknown field")


async def test_transfer_audited_with_client_address(daemon_factory) -> None:
    daemon = await daemon_factory()
    bundle = (await export(daemon)).json()["data"]
    assert (await import_bundle(daemon, bundle)).status_code == 200

    events = await daemon.storage.query_audit(limit=50)
    actions = {event["action"]: event for event in events}
    assert actions["config.export"]["client"] == "127.0.0.1"
    assert actions["config.import"]["client"] == "127.0.0.1"
    assert actions["config.import.sections"]["client"] == "127.0.0.1"
