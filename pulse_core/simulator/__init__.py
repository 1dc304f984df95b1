"""Simulated Proxmox VE and Proxmox Backup Server APIs for tests, demos and benchmarks.

    async with open_simulator(Scenario.demo()) as sim:
        httpx.get(sim.pve_url + "/api2/json/cluster/resources", headers=sim.pve_headers(), verify=False)

See :class:`Scenario` for what a simulated estate holds, :class:`Simulator` for
the attributes of a running one and :class:`~pulse_core.simulator.control.Control`
for faults and simulated time.
"""

from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.control import Control
from pulse_core.simulator.errors import ScenarioError, SimulatorError
from pulse_core.simulator.scenario import PBSScenario, Scenario, StorageSpec
from pulse_core.simulator.simulator import Simulator, open_simulator

__all__ = [
    "Control",
    "PBSScenario",
    "Scenario",
    "ScenarioError",
    "SimClock",
    "Simulator",
    "SimulatorError",
    "StorageSpec",
    "open_simulator",
]
