"""The running simulator: endpoints, credentials, state and control, as one async context."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from pulse_core.simulator.api import replay_response
from pulse_core.simulator.auth import PBS_ALL_PRIVILEGES, PVE_ALL_PRIVILEGES, Authenticator
from pulse_core.simulator.clock import SimClock
from pulse_core.simulator.control import Control
from pulse_core.simulator.errors import SimulatorError
from pulse_core.simulator.faults import FaultSet
from pulse_core.simulator.pbs import PBSApp, build_pbs_state
from pulse_core.simulator.pve import PVEApp
from pulse_core.simulator.replay import ReplayIndex
from pulse_core.simulator.scenario import Scenario
from pulse_core.simulator.server import Endpoint, Request, Response
from pulse_core.simulator.state import STEP_SECONDS, PVEState, build_state
from pulse_core.simulator.tls import Certificate, generate_certificate

logger = logging.getLogger(__name__)


class Simulator:
    """A running PVE (and optional PBS) simulator; see :func:`open_simulator`.

    Attributes tests use: ``pve_url``, ``pbs_url`` (None without PBS),
    ``fingerprint`` and ``cert_pem`` of the main PVE endpoint,
    ``pbs_fingerprint``/``pbs_cert_pem``, the credentials ``pve_token``,
    ``pve_password``, ``pbs_token``, ``pbs_password`` (user ``root@pam``),
    ``state`` and ``pbs_state`` (the live models), ``control`` and, with
    ``member_endpoints=True``, ``member_urls``/``member_fingerprints`` per node.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        tls: bool,
        clock: SimClock,
        member_endpoints: bool,
        replay: ReplayIndex | None,
        pve_port: int = 0,
        pbs_port: int = 0,
    ) -> None:

        self.scenario = scenario
        self.clock = clock
        self._nursery: trio.Nursery | None = None
        self.tls = tls
        self.faults = FaultSet()
        self.control = Control(self)
        self.state: PVEState = build_state(scenario, clock)
        self.pve_auth = Authenticator("PVE", PVE_ALL_PRIVILEGES)
        self.pve_app = PVEApp(self.state, self.pve_auth, clock, scenario.auth_failure_delay)
        self.replay = replay
        self._member_mode = member_endpoints
        self.member_endpoints: dict[str, Endpoint] = {}

        local = self.state.local_node
        local_certificate = generate_certificate(local) if tls else None
        for name in self.state.nodes:
            self.state.fingerprints[name] = _placeholder_fingerprint(name)
        if local_certificate is not None:
            self.state.fingerprints[local] = local_certificate.fingerprint
        self.pve_endpoint = self._make_endpoint("pve", "pve", self._pve_handler, local_certificate)
        self.pve_endpoint.port = pve_port

        self.pbs_state = None
        self.pbs_auth: Authenticator | None = None
        self.pbs_endpoint: Endpoint | None = None
        self.pbs_hostname = scenario.pbs.hostname if scenario.pbs else "pbs"
        if scenario.pbs is not None:
            self.pbs_state = build_pbs_state(scenario, clock, self.state)
            self.pbs_auth = Authenticator("PBS", PBS_ALL_PRIVILEGES)
            self.pbs_app = PBSApp(self.pbs_state, self.pbs_auth, clock, scenario.auth_failure_delay)
            pbs_certificate = generate_certificate(self.pbs_hostname) if tls else None
            self.pbs_app.fingerprint = pbs_certificate.fingerprint if pbs_certificate else ""
            self.pbs_endpoint = self._make_endpoint("pbs", "pbs", self._pbs_handler, pbs_certificate, server_header="proxmox-backup-proxy")
            self.pbs_endpoint.port = pbs_port

        if member_endpoints:
            for name in self.state.nodes:
                self.add_member_endpoint(name, certificate=local_certificate if name == local else None)

    # -- endpoints ------------------------------------------------------------------

    def _make_endpoint(self, name: str, server: str, handler: Any, certificate: Certificate | None, server_header: str = "pve-api-daemon/3.0") -> Endpoint:
        return Endpoint(
            name, server, handler,
            certificate=certificate, clock=self.clock, faults=self.faults,
            control_handler=self.control.handle_http, server_header=server_header,
        )

    def add_member_endpoint(self, node: str, certificate: Certificate | None = None) -> None:
        """Give ``node`` its own port and certificate (only in per-member mode)."""
        if not self._member_mode or node in self.member_endpoints:
            return
        if certificate is None and self.tls:
            certificate = generate_certificate(node)
        if certificate is not None:
            self.state.fingerprints[node] = certificate.fingerprint
        endpoint = self._make_endpoint(node, "pve", self._pve_handler, certificate)
        self.member_endpoints[node] = endpoint
        if self._nursery is not None and self.state.nodes[node].online:
            endpoint.start(self._nursery)

    def endpoints_for(self, server: str | None) -> list[Endpoint]:
        endpoints: list[Endpoint] = []
        if server in (None, "pve"):
            endpoints.append(self.pve_endpoint)
            endpoints.extend(self.member_endpoints.values())
        if server in (None, "pbs") and self.pbs_endpoint is not None:
            endpoints.append(self.pbs_endpoint)
        if server not in (None, "pve", "pbs"):
            endpoint = self.member_endpoints.get(server)
            if endpoint is not None:
                endpoints.append(endpoint)
        return endpoints

    def authenticators(self, server: str | None) -> list[Authenticator]:
        found = []
        if server in (None, "pve"):
            found.append(self.pve_auth)
        if server in (None, "pbs") and self.pbs_auth is not None:
            found.append(self.pbs_auth)
        return found

    async def _pve_handler(self, request: Request) -> Response:
        if self.replay is not None:
            recorded = self.replay.lookup("pve", request)
            if recorded is not None:
                return await replay_response(self.pve_app, request, recorded.status, recorded.body, recorded.reason)
        return await self.pve_app.handle(request)

    async def _pbs_handler(self, request: Request) -> Response:
        if self.replay is not None:
            recorded = self.replay.lookup("pbs", request)
            if recorded is not None:
                return await replay_response(self.pbs_app, request, recorded.status, recorded.body, recorded.reason)
        return await self.pbs_app.handle(request)

    @property
    def nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise SimulatorError("the simulator is not running; use it inside 'async with open_simulator(...)'")
        return self._nursery

    def bind(self) -> None:
        """Open every listening socket, raising :class:`SimulatorError` when a port is taken."""
        for endpoint in self.endpoints_for(None):
            try:
                endpoint.bind()
            except OSError as exc:
                self.close()
                raise SimulatorError(
                    f"cannot listen on 127.0.0.1:{endpoint.port} for the simulated {endpoint.server} ({exc.strerror}); "
                    "choose another port or 0 for any free port"
                ) from exc

    def start(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        for endpoint in self.endpoints_for(None):
            if endpoint.name not in self.state.nodes or self.state.nodes[endpoint.name].online:
                endpoint.start(nursery)
        if self.clock.realtime:
            nursery.start_soon(self._tick)

    async def _tick(self) -> None:
        """Follow the wall clock in realtime mode so requests rarely pay for a metric step."""
        while True:
            await trio.sleep(STEP_SECONDS)
            now = self.clock.now()
            self.state.advance_to(now)
            if self.pbs_state is not None:
                self.pbs_state.advance_to(now)

    def close(self) -> None:
        for endpoint in [self.pve_endpoint, self.pbs_endpoint, *self.member_endpoints.values()]:
            if endpoint is not None:
                endpoint.stop()

    # -- public attributes ------------------------------------------------------

    @property
    def pve_url(self) -> str:
        return self.pve_endpoint.url

    @property
    def pbs_url(self) -> str | None:
        return self.pbs_endpoint.url if self.pbs_endpoint is not None else None

    @property
    def fingerprint(self) -> str | None:
        certificate = self.pve_endpoint.certificate
        return certificate.fingerprint if certificate else None

    @property
    def cert_pem(self) -> str | None:
        certificate = self.pve_endpoint.certificate
        return certificate.cert_pem if certificate else None

    @property
    def pbs_fingerprint(self) -> str | None:
        if self.pbs_endpoint is None or self.pbs_endpoint.certificate is None:
            return None
        return self.pbs_endpoint.certificate.fingerprint

    @property
    def pbs_cert_pem(self) -> str | None:
        if self.pbs_endpoint is None or self.pbs_endpoint.certificate is None:
            return None
        return self.pbs_endpoint.certificate.cert_pem

    @property
    def pve_token(self) -> dict[str, str]:
        token = self.pve_auth.default_token
        return {"user": token.userid, "token_name": token.token_name or "", "token_value": token.secret}

    @property
    def pve_password(self) -> str:
        return self.pve_auth.password

    @property
    def pbs_token(self) -> dict[str, str] | None:
        if self.pbs_auth is None:
            return None
        token = self.pbs_auth.default_token
        return {"user": token.userid, "token_name": token.token_name or "", "token_value": token.secret}

    @property
    def pbs_password(self) -> str | None:
        return self.pbs_auth.password if self.pbs_auth is not None else None

    @property
    def member_urls(self) -> dict[str, str]:
        return {name: endpoint.url for name, endpoint in self.member_endpoints.items()}

    @property
    def member_fingerprints(self) -> dict[str, str]:
        return {
            name: endpoint.certificate.fingerprint
            for name, endpoint in self.member_endpoints.items()
            if endpoint.certificate is not None
        }

    def pve_headers(self) -> dict[str, str]:
        """Return an ``Authorization`` header for the default PVE API token."""
        token = self.pve_auth.default_token
        return {"Authorization": f"PVEAPIToken={token.auth_id}={token.secret}"}

    def pbs_headers(self) -> dict[str, str]:
        """Return an ``Authorization`` header for the default PBS API token."""
        if self.pbs_auth is None:
            raise ValueError("this simulator has no PBS")
        token = self.pbs_auth.default_token
        return {"Authorization": f"PBSAPIToken={token.auth_id}:{token.secret}"}


def _placeholder_fingerprint(name: str) -> str:
    """Fingerprint reported for nodes whose certificate is not served (no per-member endpoints)."""
    digest = hashlib.sha256(f"pulse-simulator-node:{name}".encode()).digest()
    return ":".join(f"{byte:02X}" for byte in digest)


@asynccontextmanager
async def open_simulator(
    scenario: Scenario | None = None,
    *,
    tls: bool = True,
    clock: SimClock | None = None,
    member_endpoints: bool = False,
    replay_dir: str | Path | None = None,
    pve_port: int = 0,
    pbs_port: int = 0,
) -> AsyncIterator[Simulator]:
    """Run a simulated PVE cluster (and PBS, if the scenario has one) on 127.0.0.1.

    ``clock`` defaults to a frozen :class:`SimClock` starting at the scenario's
    ``start_time``: simulated time only moves through ``sim.control.advance``.
    With ``member_endpoints=True`` every node gets its own port and certificate.
    ``replay_dir`` serves the recorded responses in that directory for their
    paths (see :mod:`pulse_core.simulator.replay`) and the scenario for the rest.
    ``pve_port``/``pbs_port`` pick fixed ports; 0 (the default) takes free ones.
    """
    scenario = scenario if scenario is not None else Scenario.demo()
    scenario.validate()
    if clock is None:
        clock = SimClock(scenario.start_time)
    # Loaded outside the nursery so a bad directory raises plainly, not inside an exception group.
    replay = ReplayIndex.load(Path(replay_dir)) if replay_dir is not None else None
    simulator = Simulator(
        scenario,
        tls=tls,
        clock=clock,
        member_endpoints=member_endpoints,
        replay=replay,
        pve_port=pve_port,
        pbs_port=pbs_port,
    )
    # Bound before the nursery opens so a taken port raises plainly, not inside an exception group.
    simulator.bind()
    async with trio.open_nursery() as nursery:
        simulator.start(nursery)
        try:
            yield simulator
        finally:
            simulator.close()
            nursery.cancel_scope.cancel()
