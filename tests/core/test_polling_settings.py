"""The configuration's polling section reaches every source, and a node's own options still win."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse_core import NodeSettings, PollingDefaults
from pulse_core.cli import make_host
from pulse_core.config import load_config
from pulse_core.daemon import NODES_SECTION, Daemon

POLLING = {
    "polling.interval_seconds": 20, "polling.timeout_seconds": 15, "polling.max_concurrency": 3,
    "polling.detail_interval_seconds": 45, "polling.slow_interval_seconds": 600,
}


def node(node_id: str, node_type: str, options: dict[str, object] | None = None) -> dict[str, object]:
    # A closed loopback port: these tests build sources and never poll them.
    return {"id": node_id, "type": node_type, "name": node_id, "host": "https://127.0.0.1:9",
            "user": "pulse@pve" if node_type == "pve" else "pulse@pbs", "token_name": "t",
            "token_value": "00000000-0000-0000-0000-000000000000", "verify_ssl": False, "enabled": True,
            "options": options or {}}


@pytest.fixture
def daemon(tmp_path: Path) -> Daemon:
    host = make_host()
    config = load_config(None, env={}, overrides={"data_dir": str(tmp_path), **POLLING},
                         section_models=host.config_sections())
    return Daemon(config, host)


def test_nodes_carry_polling_section(daemon: Daemon) -> None:
    daemon.settings.set_sync(NODES_SECTION, [node("pve1", "pve")])
    [settings] = daemon.configured_nodes()
    assert settings.polling == PollingDefaults(interval_seconds=20, timeout_seconds=15, max_concurrency=3,
                                               detail_interval_seconds=45, slow_interval_seconds=600)


def test_pve_cadences_from_polling_section(daemon: Daemon) -> None:
    daemon.settings.set_sync(NODES_SECTION, [node("pve1", "pve")])
    source = daemon.create_source(daemon.configured_nodes()[0])
    cadences = source.cadences  # type: ignore[attr-defined]
    assert (cadences.interval, cadences.concurrency, cadences.guest_status, cadences.guest_agent, cadences.slow) == (
        20, 3, 45, 225, 600)


def test_pve_node_options_override_polling(daemon: Daemon) -> None:
    daemon.settings.set_sync(NODES_SECTION, [node("pve1", "pve", {"slow": 120, "concurrency": 2})])
    cadences = daemon.create_source(daemon.configured_nodes()[0]).cadences  # type: ignore[attr-defined]
    assert (cadences.slow, cadences.concurrency, cadences.guest_status) == (120, 2, 45)


def test_pbs_limits_from_polling_section(daemon: Daemon) -> None:
    daemon.settings.set_sync(NODES_SECTION, [node("pbs1", "pbs", {"tasks": 30})])
    source = daemon.create_source(daemon.configured_nodes()[0])
    limits = source.limits  # type: ignore[attr-defined]
    assert (limits.concurrency, limits.jobs, limits.tasks, limits.namespaces) == (3, 45, 30, 600)


def test_plugin_defaults_without_daemon() -> None:
    from pulse_pve.settings import parse_settings

    config, problems = parse_settings(NodeSettings(id="n", type="pve", name="n", host="https://127.0.0.1:9",
                                                   user="root@pam", password="secret"))
    assert problems == []
    assert config is not None
    assert (config.cadences.guest_status, config.cadences.guest_agent, config.cadences.slow) == (60, 300, 300)


def test_changed_polling_rebuilds_nodes(daemon: Daemon) -> None:
    """A reloaded polling section makes the stored nodes compare unequal, so sync_sources rebuilds them."""
    daemon.settings.set_sync(NODES_SECTION, [node("pve1", "pve")])
    before = daemon.configured_nodes()[0]
    daemon.config.polling = daemon.config.polling.model_copy(update={"slow_interval_seconds": 900})
    after = daemon.configured_nodes()[0]
    assert before != after
    assert after.polling.slow_interval_seconds == 900
