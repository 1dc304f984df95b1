"""Pulse: monitoring for Proxmox VE and Proxmox Backup Server.

This module is the face for plugin authors: the ``hookimpl`` marker, the
protocols their objects implement, the model types and the errors. Plugins
import only from here.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("pulse")

from pulse_core.errors import (  # noqa: E402
    ConfigError,
    NotifyError,
    PluginError,
    PulseError,
    SchemaVersionError,
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourcePermissionError,
    SourceResponseError,
    SourceTLSError,
    StorageError,
    TransferError,
)
from pulse_core.model import (  # noqa: E402
    Alert,
    BackupTask,
    CephCluster,
    ConnectionHealth,
    ConnectionReport,
    Datastore,
    DeliveryResult,
    Guest,
    GuestFilesystem,
    GuestSnapshot,
    Node,
    Notification,
    PBSBackup,
    PBSInstance,
    PBSJob,
    PBSTask,
    PhysicalDisk,
    PollResult,
    ReplicationJob,
    Sample,
    Storage,
    StorageBackup,
    Usage,
    ceph_cluster_id,
    datastore_id,
    disk_health_failed,
    guest_id,
    node_id,
    physical_disk_id,
    replication_job_id,
    slugify,
    storage_id,
)
from pulse_core.sources.https import (  # noqa: E402
    Address,
    HTTPSConnection,
    TLSPolicy,
    fetch_certificate,
    fingerprint_of,
    insecure_context,
    is_html,
    is_tls_failure,
    normalize_fingerprint,
    normalize_host,
    pinned_context,
    transport_error,
    verify_pin,
)
from pulse_core.sources.proxmox_auth import (  # noqa: E402
    ProxmoxProduct,
    auth_failed,
    ProxmoxTicketAuth,
    ProxmoxTokenAuth,
)
from pulse_core.sources.proxmox_client import ProxmoxClient, ProxmoxResponseError  # noqa: E402
from pulse_core.sources.connection_settings import (  # noqa: E402
    ConnectionConfig,
    ConnectionFields,
    parse_connection,
    read_counts,
    read_seconds,
)
from pulse_core.sources.probe import probe_certificate  # noqa: E402
from pulse_core.protocols import (  # noqa: E402
    Authenticator,
    DaemonContext,
    HistoryPoint,
    NodeSettings,
    Notifier,
    NotifierType,
    PollingDefaults,
    Principal,
    QueuedDelivery,
    RequestInfo,
    Source,
    SourceType,
    StorageBackend,
    StorageType,
)

__all__ = [name for name in dir() if not name.startswith("_") and name not in {"annotations", "pluggy"}]
