"""The first step of a connection test: reach the server and check its certificate, sending no credential."""

from __future__ import annotations

import trio

from pulse_core.errors import SourceError
from pulse_core.model import ConnectionReport
from pulse_core.sources.https import (
    Address,
    TLSPolicy,
    fetch_certificate,
    fingerprint_of,
)


async def probe_certificate(
    address: Address, tls: TLSPolicy, timeout: float, *, default_port: int, handshake: bool = True
) -> ConnectionReport:
    """Start a connection report: reachability and the certificate's fingerprint.

    The report's ``message`` is set only when the test cannot go on: the
    server is unreachable or presents another certificate than the pinned
    one. ``default_port`` is named in the hint for an unreachable server.
    With ``handshake`` false (a test transport stands in for the network)
    only the address and TLS mode are filled in.
    """
    report = ConnectionReport(ok=False, message="")
    report.details["address"] = str(address)
    report.details["tls"] = tls.describe()
    if not handshake:
        return report

    try:
        der = await fetch_certificate(address, timeout)
    except (OSError, trio.TooSlowError, trio.BrokenResourceError) as exc:
        reason = "timed out" if isinstance(exc, trio.TooSlowError) else (getattr(exc, "strerror", None) or str(exc))
        port = f"port {address.port}" if address.port == default_port else (
            f"port {address.port} (the default is {default_port})"
        )
        report.message = f"Cannot reach {address}: {reason}. Check the host, the {port} and firewalls."
        return report
    except SourceError as exc:
        report.message = str(exc)
        return report
    report.reachable = True
    report.fingerprint = fingerprint_of(der)
    if tls.mode == "pinned" and report.fingerprint != tls.fingerprint:
        report.message = (
            f"Certificate fingerprint mismatch at {address}: the server presents {report.fingerprint}, "
            f"but {tls.fingerprint} is configured."
        )
    return report
