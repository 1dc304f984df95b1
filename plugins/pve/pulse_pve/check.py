"""Test a PVE connection before it is saved: reachability, TLS, login, version, cluster, privileges."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulse_core import (
    ConnectionReport,
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourcePermissionError,
    SourceTLSError,
    probe_certificate,
)

from pulse_pve import normalize as nz
from pulse_pve.client import DEFAULT_PORT

if TYPE_CHECKING:
    from pulse_pve.source import PVESource

log = logging.getLogger(__name__)

# Privileges to check: name, the ACL paths where PVE checks it, and the features it enables.
PRIVILEGES: list[tuple[str, tuple[str, ...], str]] = [
    ("Sys.Audit", ("/", "/nodes"), "node details, cluster membership and failover, disk and SMART health"),
    ("VM.Audit", ("/", "/vms", "/pool"), "VMs and containers"),
    ("Datastore.Audit", ("/", "/storage"), "storage usage and the backups stored on it"),
]


def _has(permissions: Mapping[str, Any], privilege: str, roots: tuple[str, ...]) -> bool:
    for path, privs in permissions.items():
        if not isinstance(privs, Mapping) or privilege not in privs:
            continue
        if path == "/" or any(root != "/" and (path == root or path.startswith(root + "/")) for root in roots):
            return True
    return False


def _grantee(source: PVESource) -> str:
    auth = source.auth
    if auth.kind == "token":
        return f"the API token {auth.token_id}"  # type: ignore[union-attr]
    return f"the user {source.config.user}"


async def check_connection(source: PVESource) -> ConnectionReport:
    config = source.config
    client = source._primary
    # Reachability and the certificate, before any credential is sent.
    report = await probe_certificate(
        config.address, config.tls, config.cadences.call_timeout,
        default_port=DEFAULT_PORT, handshake=source._transport is None,
    )
    if report.message:
        return report

    try:
        version = await client.get("/version")
    except SourceTLSError as exc:
        report.reachable = True
        hint = f" To trust this server, pin its fingerprint {report.fingerprint}." if report.fingerprint else ""
        # The error already starts with "<address>: TLS ...", so no prefix repeats it.
        report.message = f"{exc}.{hint}"
        return report
    except SourceAuthError as exc:
        report.reachable = True
        report.message = str(exc)
        return report
    except SourceConnectError as exc:
        report.message = str(exc)  # "<address>: cannot connect: ..." or "... timed out after ..."
        return report
    except SourcePermissionError:
        version = None
    except SourceError as exc:
        report.reachable = True
        report.message = f"The server did not respond like Proxmox VE: {exc}"
        return report
    report.reachable = True
    report.authenticated = True
    if isinstance(version, Mapping):
        report.version = str(version.get("version") or "") or None
    major = nz.major_version(report.version)

    status_denied = False
    try:
        status = await client.get("/cluster/status")
    except SourcePermissionError:
        status, status_denied = None, True
    except SourceError as exc:
        status = None
        report.details["cluster_status_error"] = str(exc)
    members: list[str] = []
    for item in status if isinstance(status, list) else ():
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "cluster":
            report.cluster_name = str(item.get("name") or "") or None
        elif item.get("type") == "node" and item.get("name"):
            members.append(str(item["name"]))
            report.details.setdefault("members_online", {})[str(item["name"])] = nz.as_bool(item.get("online"))
    report.members = sorted(members)

    try:
        nodes = await client.get("/nodes")
        resources = await client.get("/cluster/resources")
    except SourceError as exc:
        report.message = f"Logged in, but listing nodes failed: {exc}"
        return report
    nodes = nodes if isinstance(nodes, list) else []
    resources = resources if isinstance(resources, list) else []
    if not report.members:
        report.members = sorted(str(item.get("node")) for item in nodes if isinstance(item, Mapping) and item.get("node"))
    report.details["guests_visible"] = sum(1 for item in resources if isinstance(item, Mapping) and item.get("type") in ("qemu", "lxc"))
    report.details["nodes_visible"] = len(nodes)

    grantee = _grantee(source)
    separation = (
        " With privilege separation the user's own rights do not apply to the token; grant the role to the token "
        "itself (Datacenter > Permissions > Add > API Token Permission), or create the token without "
        "privilege separation."
        if source.auth.kind == "token" else ""
    )
    # /nodes returns its list to any valid login, but without Sys.Audit the entries carry no stats.
    audited_nodes = [item for item in nodes if isinstance(item, Mapping) and ("maxmem" in item or "cpu" in item)]
    if not audited_nodes and not resources:
        report.message = (
            f"Logged in, but {grantee} can see nothing (no nodes, guests or storage). Grant it the PVEAuditor role "
            f"on path / with propagation.{separation}"
        )
        if status_denied:
            report.missing_privileges.append({"privilege": "Sys.Audit", "disables": PRIVILEGES[0][2]})
        return report

    try:
        permissions = await client.get("/access/permissions")
    except SourceError as exc:
        permissions = None
        report.details["permissions_error"] = str(exc)
    if isinstance(permissions, Mapping):
        for privilege, roots, disables in PRIVILEGES:
            if not _has(permissions, privilege, roots):
                report.missing_privileges.append({"privilege": privilege, "disables": disables})
        agent = nz.agent_privilege(major)
        if not _has(permissions, agent, ("/", "/vms", "/pool")) and not _has(
            permissions, "VM.GuestAgent.Unrestricted", ("/", "/vms", "/pool")
        ):
            report.missing_privileges.append(
                {"privilege": agent, "disables": "VM disk usage, IP addresses and OS names from the guest agent"}
            )
    elif status_denied:
        report.missing_privileges.append({"privilege": "Sys.Audit", "disables": PRIVILEGES[0][2]})

    report.ok = True
    where = f"cluster {report.cluster_name} ({len(report.members)} nodes)" if report.cluster_name else (
        f"node {report.members[0]}" if len(report.members) == 1 else f"{len(report.members)} nodes"
    )
    report.message = f"Connected to Proxmox VE {report.version or '(version unknown)'}, {where}."
    if report.missing_privileges:
        names = ", ".join(item["privilege"] for item in report.missing_privileges)
        report.message += f" Missing privileges: {names}; grant {grantee} the PVEAuditor role on / to see everything."
    return report
