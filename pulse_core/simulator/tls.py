"""Self-signed certificates for the simulated servers, generated at start."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class Certificate:
    """A PEM certificate, its private key and the SHA-256 fingerprint clients pin."""

    cert_pem: str
    key_pem: str
    # Upper-case hex bytes joined by ":", as `GET /nodes` shows in `ssl_fingerprint`.
    fingerprint: str


def format_fingerprint(der: bytes) -> str:
    """Return the SHA-256 fingerprint of DER bytes in Proxmox's notation."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return ":".join(f"{byte:02X}" for byte in digest.finalize())


def generate_certificate(common_name: str) -> Certificate:
    """Generate a self-signed P-256 certificate valid for 127.0.0.1 and localhost.

    EC keys keep generation in the low milliseconds, so a test can start many
    simulators (or rotate certificates) cheaply.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pulse simulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.DNSName(common_name),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    fingerprint = format_fingerprint(cert.public_bytes(serialization.Encoding.DER))
    return Certificate(cert_pem=cert_pem, key_pem=key_pem, fingerprint=fingerprint)


def server_context(certificate: Certificate) -> ssl.SSLContext:
    """Build a server-side TLS context serving ``certificate``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    load_certificate(context, certificate)
    return context


def load_certificate(context: ssl.SSLContext, certificate: Certificate) -> None:
    """Load ``certificate`` into ``context``; handshakes started afterwards present it.

    ``SSLContext.load_cert_chain`` only takes file paths, so the PEM text goes
    through a private temporary directory that is removed right away.
    """
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pulse-sim-tls-") as directory:
        cert_path = os.path.join(directory, "cert.pem")
        key_path = os.path.join(directory, "key.pem")
        with open(cert_path, "w", encoding="ascii") as handle:
            handle.write(certificate.cert_pem)
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="ascii") as handle:
            handle.write(certificate.key_pem)
        context.load_cert_chain(cert_path, key_path)
