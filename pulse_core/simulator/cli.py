"""``pulse simulate``: run the PVE/PBS simulator on its own until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys

import trio

from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.errors import ScenarioError
from pulse_core.simulator.scenario import PBSScenario, Scenario
from pulse_core.simulator.simulator import Simulator, open_simulator

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser``."""
    parser.add_argument("--nodes", type=int, default=None, help="number of PVE nodes (default 3)")
    parser.add_argument("--guests", type=int, default=None, help="number of guests over all nodes (default 30)")
    parser.add_argument("--pbs", action="store_true", help="also run a Proxmox Backup Server (the demo scenario always has one)")
    parser.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS with a self-signed certificate")
    parser.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same estate (default 1)")
    parser.add_argument("--scenario", metavar="FILE", help="YAML scenario file; --nodes/--guests/--seed override its values")
    parser.add_argument("--port", type=int, default=0, help="PVE port on 127.0.0.1 (default: any free port); PBS uses the next one")
    parser.add_argument("--standalone", action="store_true", help="a single node without a cluster")
    parser.add_argument("--members", action="store_true", help="give every node its own port and certificate")
    parser.add_argument("--replay", metavar="DIR", help="serve recorded responses from DIR for their paths")


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """Build the scenario the options describe (raises :class:`ScenarioError`)."""
    if args.scenario:
        scenario = Scenario.from_yaml(args.scenario)
    elif (args.nodes or 3) > 3 or (args.guests or 30) > 100:
        scenario = Scenario.large(nodes=args.nodes or 16, guests=args.guests or 2500)
    else:
        scenario = Scenario.demo()
    if args.nodes is not None:
        scenario.nodes = args.nodes
        scenario.node_names = None
    if args.guests is not None:
        scenario.guests = args.guests
    if args.seed is not None:
        scenario.seed = args.seed
    if args.standalone:
        scenario.nodes = 1
        scenario.node_names = None
        scenario.cluster_name = None
    if args.pbs and scenario.pbs is None:
        scenario.pbs = PBSScenario()
    scenario.validate()
    return scenario


def describe(sim: Simulator) -> str:
    """Return the connection details a user needs, one per line."""
    token = sim.pve_token
    lines = [
        f"Proxmox VE simulator: {sim.pve_url}",
        f"  certificate fingerprint (SHA-256): {sim.fingerprint or 'none (plain HTTP)'}",
        f"  API token: {token['user']}!{token['token_name']} = {token['token_value']}",
        f"  password for root@pam: {sim.pve_password}",
    ]
    for node, url in sim.member_urls.items():
        lines.append(f"  member {node}: {url} ({sim.member_fingerprints.get(node, 'plain HTTP')})")
    if sim.pbs_url and sim.pbs_token:
        pbs_token = sim.pbs_token
        lines += [
            f"Proxmox Backup Server simulator: {sim.pbs_url}",
            f"  certificate fingerprint (SHA-256): {sim.pbs_fingerprint or 'none (plain HTTP)'}",
            f"  API token: {pbs_token['user']}!{pbs_token['token_name']} : {pbs_token['token_value']}",
            f"  password for root@pam: {sim.pbs_password}",
        ]
    lines.append(f"Faults and time: POST {sim.pve_url}/_sim/<call> with JSON arguments, GET {sim.pve_url}/_sim/status")
    return "\n".join(lines)


async def run_from_args(args: argparse.Namespace) -> None:
    """Run the simulator the options describe, in realtime, until cancelled (Ctrl-C)."""
    try:
        scenario = scenario_from_args(args)
    except ScenarioError as exc:
        print("pulse simulate: invalid scenario:\n  " + "\n  ".join(exc.problems), file=sys.stderr)
        raise SystemExit(2) from None
    clock = SimClock(scenario.start_time, realtime=True)
    async with open_simulator(
        scenario,
        tls=not args.http,
        clock=clock,
        member_endpoints=args.members,
        replay_dir=args.replay,
        pve_port=args.port,
        pbs_port=args.port + 1 if args.port else 0,
    ) as sim:
        print(describe(sim), flush=True)
        logger.info("simulator running with %d nodes and %d guests", len(sim.state.nodes), len(sim.state.guests))
        await trio.sleep_forever()
