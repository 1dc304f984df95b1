"""``pulse demo``: the daemon against the built-in simulated Proxmox cluster."""

from __future__ import annotations

import dataclasses
import logging

import trio

from pulse_core.config.schema import PulseConfig
from pulse_core.daemon import NODES_SECTION, Daemon, check_can_listen
from pulse_core.errors import ConfigError
from pulse_core.plugins import PluginHost

log = logging.getLogger(__name__)


# The demo refreshes disks, Ceph, replication and backups every 30 s instead of every 5 minutes,
# so a fault set through the simulator's controls shows while the user watches.
DEMO_PVE_OPTIONS = {"slow": 30, "membership": 30}


def demo_nodes(sim) -> list[dict]:
    """Connections for the simulator, pinned to its certificate fingerprint."""
    nodes = [{
        "id": "demo",
        "type": "pve",
        "name": "demo",
        "host": sim.pve_url,
        "user": sim.pve_token["user"],
        "token_name": sim.pve_token["token_name"],
        "token_value": sim.pve_token["token_value"],
        "verify_ssl": True,
        "fingerprint": sim.fingerprint,
        "enabled": True,
        "options": dict(DEMO_PVE_OPTIONS),
    }]
    if sim.pbs_url:
        nodes.append({
            "id": "demo-pbs",
            "type": "pbs",
            "name": "demo-pbs",
            "host": sim.pbs_url,
            "user": sim.pbs_token["user"],
            "token_name": sim.pbs_token["token_name"],
            "token_value": sim.pbs_token["token_value"],
            "verify_ssl": True,
            "fingerprint": sim.pbs_fingerprint,
            "enabled": True,
            "options": {},
        })
    return nodes


async def run_demo(config: PulseConfig, host: PluginHost, nodes: int, guests: int, port_chosen: bool = False) -> None:
    from pulse_core.simulator import Scenario, open_simulator
    from pulse_core.simulator.clock import SimClock

    scenario = Scenario.demo() if (nodes, guests) == (3, 30) else Scenario.large(nodes=nodes, guests=guests)
    # Ceph on, so the demo shows every panel; the tests' demo scenario keeps it off.
    scenario = dataclasses.replace(scenario, ceph=True)
    # A realtime clock so the demo's metrics move while the user watches.
    async with open_simulator(scenario, clock=SimClock(realtime=True)) as sim:
        if not port_chosen:
            try:
                check_can_listen(config.server.bind, config.server.port)
            except ConfigError:
                log.warning("Port %d is in use; the demo listens on a free port instead", config.server.port)
                config.server.port = 0
        daemon = Daemon(config, host)
        # The simulator listens on new ports each run, so the demo connections are replaced every start.
        others = [node for node in daemon.settings.get(NODES_SECTION, []) if not node["id"].startswith("demo")]
        daemon.settings.set_sync(NODES_SECTION, demo_nodes(sim) + others)
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            url = daemon.bound_urls[0] if daemon.bound_urls else "?"
            print(f"\nPulse demo is running: open {url}/ in your browser (Ctrl-C to stop).", flush=True)
            # The simulator's credentials are made up for this run and let the user try "add node".
            token = sim.pve_token
            print(f"Simulated Proxmox VE at {sim.pve_url} (fingerprint {sim.fingerprint})", flush=True)
            print(f"  API token: user {token['user']}, token name {token['token_name']}, "
                  f"value {token['token_value']}; or user root@pam, password {sim.pve_password}", flush=True)
            if sim.pbs_url:
                print(f"Simulated Proxmox Backup Server at {sim.pbs_url} (fingerprint {sim.pbs_fingerprint})",
                      flush=True)
            print(f"Data directory {daemon.data_dir}\n", flush=True)
