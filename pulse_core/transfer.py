"""Encrypted configuration bundles: export the settings store, validate and import a bundle.

Bundle layout (version 1), sent as base64 text::

    magic "PULSECFG" | version (1 byte) | PBKDF2 iterations (4 bytes, big-endian)
    | salt (32 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and 16-byte tag

The key is PBKDF2-HMAC-SHA256 of the passphrase over the salt. The header is
authenticated as associated data, so changing any byte of it makes decryption
fail. The plaintext is a JSON document whose ``sections`` hold settings-store
sections in their stored (snake_case) form, secrets included.

Import checks the whole bundle (format, passphrase, every section) before it
writes anything, then saves all sections in one atomic ``SettingsStore.replace``
call. Sections absent from the bundle stay as they are. The settings listeners
then start polling imported nodes, reload alert thresholds and rebuild
notification channels without a restart.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import trio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from pulse_core import __version__
from pulse_core.errors import ConfigError, TransferError

log = logging.getLogger(__name__)

MAGIC = b"PULSECFG"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({FORMAT_VERSION})
CONTENT_FORMAT = "pulse-config"
KDF_ITERATIONS = 600_000
# Bounds the work a crafted bundle can make the server do while deriving its key.
MAX_KDF_ITERATIONS = 10_000_000
SALT_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + 4 + SALT_BYTES + NONCE_BYTES
MIN_PASSPHRASE_LENGTH = 12
INIT_FILE_ENV = "PULSE_INIT_CONFIG_FILE"
INIT_PASSPHRASE_ENV = "PULSE_INIT_CONFIG_PASSPHRASE"
MAX_PASSPHRASE_LENGTH = 1024
EXPECTED_FORMS = (
    "expected the base64 bundle that `pulse export` writes, or the JSON file that "
    "Settings → Export in the web UI downloads, complete and unchanged"
)

NODES = "nodes"
ALERTS = "alerts"
SYSTEM = "system"
GUEST_METADATA = "guest_metadata"
NOTIFICATION_PREFIX = "notifications_"
CORE_SECTIONS = (NODES, ALERTS, SYSTEM, GUEST_METADATA)
# Keys a stored node may carry; "cluster_name" is written by auto-registration.
NODE_KEYS = frozenset({
    "id", "type", "name", "host", "user", "password", "token_name", "token_value", "verify_ssl",
    "fingerprint", "enabled", "options", "cluster_name",
})


def is_exported_section(name: str) -> bool:
    """Return True for the settings sections a bundle carries.

    Login credentials of Pulse itself ("security", "api_tokens") are left out on
    purpose, so a bundle cannot hand out access to the instance that imports it.
    """
    return name in CORE_SECTIONS or name.startswith(NOTIFICATION_PREFIX)


# --- passphrase and key ----------------------------------------------------------------------


def check_passphrase(passphrase: Any) -> str:
    """Return the passphrase or raise ``TransferError`` naming the ``passphrase`` field."""
    if not isinstance(passphrase, str) or not passphrase:
        raise TransferError("passphrase: required, a string of at least 12 characters")
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise TransferError(
            f"passphrase: too short ({len(passphrase)} characters); use at least {MIN_PASSPHRASE_LENGTH}"
        )
    if len(passphrase) > MAX_PASSPHRASE_LENGTH:
        raise TransferError(f"passphrase: too long; use at most {MAX_PASSPHRASE_LENGTH} characters")
    return passphrase


def derive_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    """Return the 32-byte AES key for ``passphrase`` (PBKDF2-HMAC-SHA256); CPU-bound."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(passphrase.encode("utf-8"))


# --- bundle encoding ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BundleHeader:
    version: int
    iterations: int
    salt: bytes
    nonce: bytes

    def pack(self) -> bytes:
        return MAGIC + bytes([self.version]) + self.iterations.to_bytes(4, "big") + self.salt + self.nonce


def seal(plaintext: bytes, passphrase: str, *, iterations: int = KDF_ITERATIONS) -> str:
    """Encrypt ``plaintext`` into base64 bundle text; ``iterations`` is lowered only by tests."""
    header = BundleHeader(FORMAT_VERSION, iterations, os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES))
    packed = header.pack()
    key = derive_key(passphrase, header.salt, iterations)
    ciphertext = AESGCM(key).encrypt(header.nonce, plaintext, packed)
    return base64.b64encode(packed + ciphertext).decode("ascii")


def bundle_text(data: str) -> str:
    """Return the base64 bundle from either form an export is saved in.

    ``pulse export`` writes the bare base64 text. The web UI's Settings → Export
    downloads the JSON response of ``POST /api/config/export``, whose ``data``
    field contains the same text. Anything that does not start with ``{`` is
    returned unchanged for the base64 check.
    """
    stripped = data.strip()
    if not stripped.startswith("{"):
        return data
    try:
        document: dict[str, Any] = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        raise TransferError(f"data: starts like JSON but is not valid JSON ({exc}); {EXPECTED_FORMS}") from None
    content_format = document.get("format", CONTENT_FORMAT)
    if content_format != CONTENT_FORMAT:
        raise TransferError(
            f"data: the JSON file has format {content_format!r}, not {CONTENT_FORMAT!r}; {EXPECTED_FORMS}"
        )
    inner = document.get("data")
    if not isinstance(inner, str) or not inner.strip():
        raise TransferError(f'data: the JSON file has no "data" text field; {EXPECTED_FORMS}')
    return inner


def read_header(data: Any, *, min_iterations: int = KDF_ITERATIONS) -> tuple[BundleHeader, bytes, bytes]:
    """Decode bundle text; return the header, the packed header bytes and the ciphertext.

    Raises ``TransferError`` for anything that is not a complete bundle of a known version.
    """
    if not isinstance(data, str) or not data.strip():
        raise TransferError("data: required, the exported bundle text")
    text = "".join(bundle_text(data).split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise TransferError(
            f"data: not valid base64 text; {EXPECTED_FORMS} (the text may be truncated)"
        ) from None
    if len(raw) < len(MAGIC) + 1 or not raw.startswith(MAGIC):
        if MAGIC.startswith(raw[: len(MAGIC)]) and len(raw) < len(MAGIC):
            raise TransferError("data: truncated; the bundle ends inside its header")
        raise TransferError("data: not a Pulse configuration export (unknown header)")
    version = raw[len(MAGIC)]
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(item) for item in sorted(SUPPORTED_VERSIONS))
        raise TransferError(
            f"data: export format version {version} is not supported (this Pulse reads version {supported}); "
            "import it with the Pulse version that wrote it or a newer one"
        )
    if len(raw) < HEADER_BYTES + TAG_BYTES:
        raise TransferError("data: truncated; the bundle is shorter than its header and authentication tag")
    offset = len(MAGIC) + 1
    iterations = int.from_bytes(raw[offset:offset + 4], "big")
    offset += 4
    salt = raw[offset:offset + SALT_BYTES]
    offset += SALT_BYTES
    nonce = raw[offset:offset + NONCE_BYTES]
    if not min_iterations <= iterations <= MAX_KDF_ITERATIONS:
        raise TransferError(
            f"data: the bundle asks for {iterations} PBKDF2 iterations, outside the accepted range "
            f"{min_iterations} to {MAX_KDF_ITERATIONS}; it was not written by Pulse"
        )
    return BundleHeader(version, iterations, salt, nonce), raw[:HEADER_BYTES], raw[HEADER_BYTES:]


def open_bundle(data: Any, passphrase: str, *, min_iterations: int = KDF_ITERATIONS) -> bytes:
    """Decrypt bundle text and return the plaintext; raises ``TransferError`` with the reason."""
    header, packed, ciphertext = read_header(data, min_iterations=min_iterations)
    key = derive_key(passphrase, header.salt, header.iterations)
    try:
        return AESGCM(key).decrypt(header.nonce, ciphertext, packed)
    except InvalidTag:
        raise TransferError(
            "passphrase: wrong passphrase, or the data was changed or truncated (decryption failed); "
            "check the passphrase and that the whole bundle was copied"
        ) from None


# --- content ---------------------------------------------------------------------------------


def build_content(settings: Any, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Return the plaintext document of an export: every exported section that exists."""
    snapshot = settings.snapshot()
    sections = {name: value for name, value in sorted(snapshot.items()) if is_exported_section(name)}
    return {
        "format": CONTENT_FORMAT,
        "version": FORMAT_VERSION,
        "pulseVersion": __version__,
        "exportedAt": clock(),
        "sections": sections,
    }


def encode_content(content: Mapping[str, Any]) -> bytes:
    return orjson.dumps(content)


def decode_content(plaintext: bytes) -> dict[str, Any]:
    try:
        content = orjson.loads(plaintext)
    except orjson.JSONDecodeError:
        raise TransferError("data: invalid content; the decrypted bundle is not JSON") from None
    if not isinstance(content, dict) or content.get("format") != CONTENT_FORMAT:
        raise TransferError("data: invalid content; the decrypted bundle is not a Pulse configuration")
    if content.get("version") not in SUPPORTED_VERSIONS:
        raise TransferError(f"data: invalid content; unsupported content version {content.get('version')!r}")
    if not isinstance(content.get("sections"), dict):
        raise TransferError("data: invalid content; sections: expected an object")
    return content


@dataclass(slots=True)
class ImportPlan:
    """A validated bundle: the sections to write and a summary for the response."""

    sections: dict[str, Any]
    exported_at: float | None
    pulse_version: str | None
    summary: dict[str, Any] = field(default_factory=dict)


def validate_content(content: Mapping[str, Any], context: Any) -> ImportPlan:
    """Check every section of a decoded bundle; raise ``TransferError`` listing every problem.

    ``context`` provides ``validate_node`` and ``plugins`` (the daemon, or a
    stand-in built by the CLI for a stopped daemon's data directory).
    """
    from pulse_core.transfer_checks import check_sections

    sections = dict(content["sections"])
    problems = check_sections(sections, context)
    if problems:
        raise TransferError("data: invalid content: " + "; ".join(problems))
    exported_at = content.get("exportedAt")
    return ImportPlan(
        sections=sections,
        exported_at=float(exported_at) if isinstance(exported_at, (int, float)) else None,
        pulse_version=str(content.get("pulseVersion") or "") or None,
        summary=summarize(sections),
    )


def summarize(sections: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a set of sections holds, in API (camelCase) form."""
    summary: dict[str, Any] = {"sections": sorted(sections)}
    if NODES in sections:
        summary["nodes"] = [
            {"id": node["id"], "type": node["type"], "name": node.get("name") or node["id"]}
            for node in sections[NODES]
        ]
    if ALERTS in sections:
        summary["alertOverrides"] = len((sections[ALERTS] or {}).get("overrides") or {})
    if "notifications_webhooks" in sections:
        summary["webhooks"] = len(sections["notifications_webhooks"] or [])
    if "notifications_email" in sections:
        summary["emailConfigured"] = bool((sections["notifications_email"] or {}).get("server"))
    if SYSTEM in sections:
        summary["systemSettings"] = sorted(sections[SYSTEM] or {})
    if GUEST_METADATA in sections:
        summary["guestMetadata"] = len(sections[GUEST_METADATA] or {})
    return summary


# --- high-level operations ---------------------------------------------------------------------


def export_sync(settings: Any, passphrase: str, *, iterations: int = KDF_ITERATIONS) -> tuple[str, dict[str, Any]]:
    """Return ``(bundle text, summary)`` for the current settings; blocking (runs the KDF)."""
    check_passphrase(passphrase)
    content = build_content(settings)
    summary = summarize(content["sections"])
    summary["exportedAt"] = content["exportedAt"]
    return seal(encode_content(content), passphrase, iterations=iterations), summary


def plan_import_sync(data: Any, passphrase: Any, context: Any, *, min_iterations: int = KDF_ITERATIONS) -> ImportPlan:
    """Decrypt and validate a bundle without writing anything; blocking (runs the KDF)."""
    if not isinstance(passphrase, str) or not passphrase:
        raise TransferError("passphrase: required, the passphrase the bundle was exported with")
    plaintext = open_bundle(data, passphrase, min_iterations=min_iterations)
    return validate_content(decode_content(plaintext), context)


async def export_bundle(settings: Any, passphrase: Any, *, iterations: int = KDF_ITERATIONS) -> tuple[str, dict[str, Any]]:
    check_passphrase(passphrase)
    return await trio.to_thread.run_sync(lambda: export_sync(settings, passphrase, iterations=iterations))


async def plan_import(data: Any, passphrase: Any, context: Any, *, min_iterations: int = KDF_ITERATIONS) -> ImportPlan:
    # Only the KDF and decryption run in the worker thread; node validation may touch plugin objects.
    if not isinstance(passphrase, str) or not passphrase:
        raise TransferError("passphrase: required, the passphrase the bundle was exported with")
    plaintext = await trio.to_thread.run_sync(
        lambda: open_bundle(data, passphrase, min_iterations=min_iterations)
    )
    return validate_content(decode_content(plaintext), context)



def bootstrap_from_env(daemon: Any, environ: Mapping[str, str]) -> ImportPlan | None:
    """Import ``PULSE_INIT_CONFIG_FILE`` on first start, when the settings store is still empty.

    Returns the applied plan, or None when nothing was imported. A bundle that
    cannot be read or imported raises ``ConfigError``, so a headless install
    stops with the reason instead of starting unconfigured.
    """
    path = environ.get(INIT_FILE_ENV, "").strip()
    if not path:
        return None
    if daemon.settings.snapshot():
        log.info("%s is set but the settings store is not empty; skipping the initial import", INIT_FILE_ENV)
        return None
    passphrase = environ.get(INIT_PASSPHRASE_ENV, "")
    if not passphrase:
        raise ConfigError(f"{INIT_PASSPHRASE_ENV}: required when {INIT_FILE_ENV} is set; give the export passphrase")
    try:
        data = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{INIT_FILE_ENV}: cannot read {path}: {reason}") from None
    try:
        plan = plan_import_sync(data, passphrase, daemon)
    except TransferError as exc:
        raise ConfigError(f"{INIT_FILE_ENV}: {path}: {exc}") from None
    daemon.settings.replace_sync(plan.sections)
    log.info("Imported the initial configuration from %s: %s", path, ", ".join(plan.summary["sections"]))
    return plan
