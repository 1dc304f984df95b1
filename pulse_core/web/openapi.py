"""The OpenAPI 3.1 document served at ``/api/openapi.json``: every HTTP endpoint Pulse serves.

The core's operations all live in this module, so each area adds its own next
to the others (edit the tables below or call ``add_operation``). A test
compares the document with the application's URL map, so a core route missing
here fails it. A plugin describes its routes by setting ``openapi_paths`` on
the blueprint it returns: a mapping of path to path item, as in ``PATHS``.
``create_app`` merges those in. Schemas are JSON Schema 2020-12, as OpenAPI 3.1 uses.
Units follow the model: CPU as a 0-1 fraction in the state, usage in percent,
sizes in bytes, rates in bytes per second, times in epoch seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from quart import Blueprint, Response

import pulse_core

blueprint = Blueprint("openapi", __name__)

# --- schema helpers ------------------------------------------------------------------------


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(type_name: str, **extra: Any) -> dict[str, Any]:
    return {"type": [type_name, "null"], **extra}


def obj(properties: dict[str, Any], required: list[str] | None = None, additional: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = required
    if not additional:
        schema["additionalProperties"] = False
    return schema


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
ANY_OBJECT = {"type": "object"}
STRINGS = array(STRING)

USAGE = obj({
    "total": nullable("integer", description="bytes"),
    "used": nullable("integer", description="bytes"),
    "free": nullable("integer", description="bytes"),
    "usage": nullable("number", description="percent, 0-100"),
    "unknownReason": nullable("string", description="why used is unknown, e.g. no guest agent"),
})

STATE_NODE = obj({
    "id": STRING, "name": STRING, "instance": STRING, "host": STRING,
    "status": {"type": "string", "enum": ["online", "offline", "unknown"]}, "type": {"const": "node"},
    "cpu": nullable("number", description="fraction of all CPUs, 0-1"), "cpus": nullable("integer"),
    "memory": ref("Usage"), "swap": ref("Usage"), "disk": ref("Usage"), "uptime": nullable("integer"),
    "loadAverage": {"type": ["array", "null"], "items": NUMBER}, "pveVersion": nullable("string"),
    "kernelVersion": nullable("string"), "cpuModel": nullable("string"), "clusterName": nullable("string"),
    "isClusterMember": BOOLEAN, "connectionHealth": STRING,
    "stale": {"type": "boolean", "description": "values are from an earlier poll because this one failed"},
    "lastSeen": nullable("number"),
})

STATE_GUEST = obj({
    "id": {"type": "string", "description": "instance-vmid; stable across migration"},
    "vmid": INTEGER, "name": STRING, "node": STRING, "instance": STRING,
    "type": {"type": "string", "enum": ["qemu", "lxc"]}, "status": STRING, "template": BOOLEAN,
    "cpu": nullable("number", description="fraction of the guest's CPUs, 0-1"), "cpus": nullable("number"),
    "memory": ref("Usage"), "balloon": nullable("integer"), "disk": ref("Usage"),
    "networkIn": nullable("number", description="bytes/s"), "networkOut": nullable("number", description="bytes/s"),
    "diskRead": nullable("number", description="bytes/s"), "diskWrite": nullable("number", description="bytes/s"),
    "uptime": nullable("integer"), "tags": STRINGS, "lock": nullable("string"), "haState": nullable("string"),
    "pool": nullable("string"), "agentEnabled": nullable("boolean"), "agentStatus": nullable("string"),
    "osName": nullable("string"), "ipAddresses": STRINGS,
    "filesystems": array(obj({
        "mountpoint": STRING, "type": STRING, "total": INTEGER, "used": INTEGER, "device": nullable("string"),
    })),
    "stale": BOOLEAN, "staleFields": STRINGS, "lastSeen": nullable("number"),
})

STORAGE = obj({
    "id": STRING, "name": STRING, "node": STRING, "instance": STRING, "type": STRING, "content": STRING,
    "shared": BOOLEAN, "enabled": BOOLEAN, "active": BOOLEAN, "status": STRING,
    "total": nullable("integer"), "used": nullable("integer"), "free": nullable("integer"),
    "usage": nullable("number", description="percent"), "stale": BOOLEAN,
})

DATASTORE = obj({
    "id": STRING, "name": STRING, "instance": STRING, "status": STRING,
    "total": nullable("integer"), "used": nullable("integer"), "free": nullable("integer"),
    "usage": nullable("number"), "deduplicationFactor": nullable("number"), "estimatedFull": nullable("integer"),
    "gcStatus": nullable("string"), "gcLastRun": nullable("integer"), "namespaces": STRINGS,
    "removable": BOOLEAN, "error": nullable("string"), "stale": BOOLEAN,
    "comment": nullable("string"), "mountStatus": nullable("string"), "backendType": nullable("string"),
    "maintenance": nullable("string"), "groupCount": nullable("integer"), "snapshotCount": nullable("integer"),
}, required=["id", "name", "instance", "status", "total", "used", "free", "usage", "removable", "error", "stale"])

PBS_INSTANCE = obj({
    "id": STRING, "name": STRING, "host": STRING, "status": STRING, "version": nullable("string"),
    "cpu": nullable("number"), "memory": ref("Usage"), "disk": ref("Usage"), "uptime": nullable("integer"),
    "loadAverage": {"type": ["array", "null"], "items": NUMBER}, "datastores": array(ref("Datastore")),
    "jobs": array(obj({
        "id": STRING, "type": STRING, "store": STRING, "lastRun": nullable("integer"),
        "lastResult": nullable("string"), "nextRun": nullable("integer"),
        "schedule": nullable("string"), "lastUpid": nullable("string"),
    }, required=["id", "type", "store", "lastRun", "lastResult", "nextRun"])),
    "warnings": STRINGS, "connectionHealth": STRING, "stale": BOOLEAN,
    "failedTasks": array(obj({
        "upid": STRING, "type": STRING, "workerId": nullable("string"), "user": STRING,
        "startTime": INTEGER, "endTime": nullable("integer"), "status": nullable("string"),
        "store": nullable("string"),
    })),
}, required=["id", "name", "host", "status", "version", "cpu", "memory", "disk", "uptime", "loadAverage",
             "datastores", "jobs", "warnings", "connectionHealth", "stale"])

BACKUP_TASK = obj({
    "id": STRING, "upid": STRING, "node": STRING, "instance": STRING, "vmid": nullable("integer"),
    "status": STRING, "startTime": INTEGER, "endTime": nullable("integer"), "size": nullable("integer"),
    "error": nullable("string"),
})

STORAGE_BACKUP = obj({
    "id": STRING, "volid": STRING, "storage": STRING, "node": STRING, "instance": STRING,
    "vmid": nullable("integer"), "type": nullable("string"), "ctime": INTEGER, "size": nullable("integer"),
    "format": nullable("string"), "notes": nullable("string"), "protected": BOOLEAN,
    "verification": nullable("string"), "isPBS": BOOLEAN,
})

GUEST_SNAPSHOT = obj({
    "id": STRING, "name": STRING, "vmid": INTEGER, "type": STRING, "node": STRING, "instance": STRING,
    "time": nullable("integer"), "description": STRING, "vmstate": BOOLEAN, "parent": nullable("string"),
})

PBS_BACKUP = obj({
    "id": STRING, "instance": STRING, "datastore": STRING, "namespace": STRING,
    "backupType": {"type": "string", "enum": ["vm", "ct", "host"]}, "vmid": STRING, "backupTime": INTEGER,
    "size": nullable("integer"), "protected": BOOLEAN, "comment": nullable("string"),
    "verification": {"type": "string", "enum": ["ok", "failed", "none"]}, "encrypted": BOOLEAN,
    "owner": nullable("string"), "files": STRINGS, "cryptMode": nullable("string"),
}, required=["id", "instance", "datastore", "namespace", "backupType", "vmid", "backupTime", "size", "protected",
             "comment", "verification", "encrypted", "owner", "files"])

PHYSICAL_DISK = obj({
    "id": {"type": "string", "description": "instance-node-disk-serial (or -device without a serial), "
                                           "e.g. lab-pve1-disk-s69enf0r123456"},
    "node": STRING, "instance": STRING, "devPath": STRING, "model": nullable("string"), "serial": nullable("string"),
    "vendor": nullable("string"), "wwn": nullable("string"),
    "type": {"type": "string", "description": "hdd, ssd, nvme, usb or unknown, as Proxmox reports it"},
    "size": nullable("integer", description="bytes"),
    "health": nullable("string", description="SMART health as Proxmox reports it: PASSED, OK, FAILED, UNKNOWN"),
    "failed": {"type": ["boolean", "null"], "description": "SMART reports a failing disk; null when health is unknown"},
    "wearout": nullable("integer", description="percent of rated life left (100 = new); null for hard disks"),
    "usedBy": nullable("string", description="what uses the disk, e.g. LVM, ZFS, ceph osd"),
    "rpm": nullable("integer"), "osdIds": array(INTEGER),
    "stale": {"type": "boolean", "description": "values are from an earlier read because this one failed"},
})

CEPH_CLUSTER = obj({
    "id": STRING, "instance": STRING, "fsid": nullable("string"),
    "health": nullable("string", description="HEALTH_OK, HEALTH_WARN or HEALTH_ERR"),
    "checks": array(obj({"name": STRING, "severity": nullable("string"), "message": STRING,
                         "count": nullable("integer"), "muted": BOOLEAN})),
    "monitors": obj({"total": nullable("integer"), "inQuorum": nullable("integer")}),
    "managers": obj({"up": nullable("integer"), "active": nullable("string")}),
    "osds": obj({"total": nullable("integer"), "up": nullable("integer"), "in": nullable("integer")}),
    "pools": nullable("integer"),
    "total": nullable("integer", description="raw bytes over all OSDs"), "used": nullable("integer", description="bytes"),
    "free": nullable("integer", description="bytes"), "usage": nullable("number", description="percent, 0-100"),
    "dataBytes": nullable("integer", description="bytes stored in the pools before replication"),
    "placementGroups": obj({"total": nullable("integer"),
                            "states": {"type": "object", "additionalProperties": INTEGER,
                                       "description": "placement groups per state, e.g. active+clean"}}),
    "stale": BOOLEAN,
})

REPLICATION_JOB = obj({
    "id": STRING, "jobId": {"type": "string", "description": "Proxmox job id, <vmid>-<number>"},
    "instance": STRING, "guest": INTEGER, "guestType": nullable("string"), "source": nullable("string"),
    "target": STRING, "schedule": STRING, "disabled": BOOLEAN, "comment": nullable("string"),
    "lastSync": nullable("integer", description="epoch seconds of the last successful sync"),
    "lastTry": nullable("integer"), "nextSync": nullable("integer"),
    "duration": nullable("number", description="seconds the last run took"),
    "failCount": {"type": "integer", "description": "consecutive failed runs; 0 after a success"},
    "error": nullable("string"),
    "stale": {"type": "boolean", "description": "no state could be read (source node offline or call failed)"},
})

CONNECTION_HEALTH = obj({
    "instance": STRING, "healthy": BOOLEAN, "status": STRING, "message": STRING,
    "lastSuccess": nullable("number"), "lastError": nullable("number"), "consecutiveFailures": INTEGER,
    "warnings": STRINGS,
})

ALERT = obj({
    "id": STRING, "type": STRING, "level": {"type": "string", "enum": ["warning", "critical"]},
    "resourceId": STRING, "resourceName": STRING, "resourceType": STRING, "node": nullable("string"),
    "instance": nullable("string"), "message": STRING, "value": nullable("number"),
    "threshold": nullable("number"), "startTime": NUMBER, "lastSeen": NUMBER, "acknowledged": BOOLEAN,
    "ackUser": nullable("string"), "ackTime": nullable("number"), "resolvedTime": nullable("number"),
    "metadata": ANY_OBJECT,
})

PVE_BACKUPS = obj({
    "backupTasks": array(ref("BackupTask")),
    "storageBackups": array(ref("StorageBackup")),
    "guestSnapshots": array(ref("GuestSnapshot")),
})

STATE = obj({
    "nodes": array(ref("StateNode")),
    "vms": array(ref("StateGuest")),
    "containers": array(ref("StateGuest")),
    "storage": array(ref("Storage")),
    "pbs": array(ref("PBSInstance")),
    "pveBackups": ref("PVEBackups"),
    "pbsBackups": array(ref("PBSBackup")),
    "physicalDisks": array(ref("PhysicalDisk")),
    "cephClusters": array(ref("CephCluster")),
    "replicationJobs": array(ref("ReplicationJob")),
    "activeAlerts": array(ref("Alert")),
    "connectionHealth": {"type": "object", "additionalProperties": ref("ConnectionHealth"),
                         "description": "keyed by configured node id"},
    "stats": obj({"startTime": NUMBER, "uptime": NUMBER, "version": INTEGER, "nodes": INTEGER, "guests": INTEGER}),
    "lastUpdate": nullable("number"),
})

NODE_CONFIG = obj({
    "id": STRING, "type": STRING, "name": STRING, "host": STRING, "user": STRING, "tokenName": STRING,
    "hasPassword": {"type": "boolean", "description": "a password is stored; it is never returned"},
    "hasToken": {"type": "boolean", "description": "a token secret is stored; it is never returned"},
    "verifySSL": BOOLEAN, "fingerprint": STRING, "enabled": BOOLEAN, "options": ANY_OBJECT,
    "status": {"type": "string", "enum": ["connected", "error", "pending", "disabled"]},
    "statusMessage": STRING, "lastSuccess": nullable("number"),
})

NODE_INPUT_PROPERTIES = {
    "type": {"type": "string", "description": "source type, e.g. pve or pbs"},
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "display name; the id is derived from it"},
    "host": {"type": "string", "minLength": 1, "maxLength": 500, "description": "URL, e.g. https://pve.example.com:8006"},
    "user": {"type": "string", "maxLength": 200, "description": "e.g. monitor@pve"},
    "password": {"type": "string", "maxLength": 1000, "writeOnly": True},
    "tokenName": {"type": "string", "maxLength": 300, "description": "API token name (the part after !)"},
    "tokenId": {"type": "string", "maxLength": 300, "description": "full token id user@realm!name; sets user and tokenName"},
    "tokenValue": {"type": "string", "maxLength": 1000, "writeOnly": True},
    "verifySSL": BOOLEAN,
    "fingerprint": {"type": "string", "maxLength": 200, "description": "SHA-256 certificate fingerprint to pin"},
    "enabled": BOOLEAN,
    "options": {"type": "object", "description": "source-type specific settings"},
}

NODE_INPUT = {"type": "object", "properties": NODE_INPUT_PROPERTIES, "additionalProperties": False}
NODE_CREATE = {**NODE_INPUT, "required": ["type", "name", "host"]}
NODE_TEST = {
    "type": "object",
    "properties": {**NODE_INPUT_PROPERTIES, "id": {
        "type": "string", "description": "a saved node whose stored secrets fill in the omitted ones"}},
    "additionalProperties": False,
}

CONNECTION_REPORT = obj({
    "ok": BOOLEAN, "message": STRING, "reachable": BOOLEAN, "authenticated": BOOLEAN,
    "fingerprint": nullable("string"), "version": nullable("string"), "clusterName": nullable("string"),
    "members": STRINGS,
    "missingPrivileges": array(obj({"privilege": STRING, "disables": STRING}, required=[])),
    "details": ANY_OBJECT,
})

ORIGINS = {"type": "array", "maxItems": 50, "items": {"type": "string", "description": "scheme://host[:port]"}}
SYSTEM_PROPERTIES = {
    "pollingInterval": {"type": "number", "minimum": 1, "maximum": 3600, "description": "seconds between polls"},
    "pollingTimeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300,
                       "description": "seconds one poll may take; below pollingInterval"},
    "retentionDays": {"type": "integer", "minimum": 1, "maximum": 3650, "description": "days of metric history"},
    "publicUrl": {"type": "string", "maxLength": 500, "description": "URL users reach Pulse at, or empty"},
    "allowedOrigins": ORIGINS,
    "allowEmbedding": BOOLEAN,
    "embeddingOrigins": ORIGINS,
    "theme": {"type": "string", "enum": ["system", "light", "dark"]},
    "updateChannel": {"type": "string", "enum": ["stable", "rc"]},
    "autoUpdateCheck": BOOLEAN,
}
SYSTEM = {"type": "object", "properties": SYSTEM_PROPERTIES, "required": list(SYSTEM_PROPERTIES)}
SYSTEM_INPUT = {"type": "object", "properties": SYSTEM_PROPERTIES, "additionalProperties": False}

CHART_POINT = obj({
    "timestamp": {"type": "number", "description": "start of the bucket, epoch seconds"},
    "value": {"type": "number", "description": "average over the bucket"}, "min": NUMBER, "max": NUMBER,
})
SERIES_MAP = {"type": "object", "additionalProperties": array(ref("ChartPoint")),
              "description": "metric name -> points"}
RESOURCE_SERIES = {"type": "object", "additionalProperties": SERIES_MAP, "description": "resource id -> metrics"}
CHARTS = obj({
    "range": {"type": "string", "enum": ["1h", "24h", "7d", "30d", "90d"]}, "start": NUMBER, "end": NUMBER,
    "guests": RESOURCE_SERIES, "nodes": RESOURCE_SERIES,
    "stats": obj({"oldestDataTimestamp": nullable("number"), "points": INTEGER}),
})
STORAGE_CHARTS = obj({
    "range": STRING, "start": NUMBER, "end": NUMBER, "storage": RESOURCE_SERIES, "datastores": RESOURCE_SERIES,
})

UNIFIED_BACKUP = obj({
    "id": STRING, "source": {"type": "string", "enum": ["pve", "pbs"]}, "instance": STRING,
    "node": nullable("string"), "location": STRING, "vmid": nullable("integer"), "type": nullable("string"),
    "time": INTEGER, "size": nullable("integer"), "protected": BOOLEAN, "verification": nullable("string"),
    "notes": nullable("string"),
})

SCHEMAS: dict[str, Any] = {
    "Error": obj({"error": {"type": "string", "description": "what went wrong, naming the field when one is at fault"}}),
    "Usage": USAGE, "StateNode": STATE_NODE, "StateGuest": STATE_GUEST, "Storage": STORAGE, "Datastore": DATASTORE,
    "PBSInstance": PBS_INSTANCE, "BackupTask": BACKUP_TASK, "StorageBackup": STORAGE_BACKUP,
    "GuestSnapshot": GUEST_SNAPSHOT, "PBSBackup": PBS_BACKUP, "ConnectionHealth": CONNECTION_HEALTH,
    "Alert": ALERT, "PVEBackups": PVE_BACKUPS, "State": STATE, "NodeConfig": NODE_CONFIG,
    "NodeInput": NODE_INPUT, "NodeCreate": NODE_CREATE, "NodeTest": NODE_TEST, "ConnectionReport": CONNECTION_REPORT,
    "SystemSettings": SYSTEM, "SystemSettingsInput": SYSTEM_INPUT, "ChartPoint": CHART_POINT, "Charts": CHARTS,
    "StorageCharts": STORAGE_CHARTS, "UnifiedBackup": UNIFIED_BACKUP,
    "PhysicalDisk": PHYSICAL_DISK, "CephCluster": CEPH_CLUSTER, "ReplicationJob": REPLICATION_JOB,
}

# --- operations ----------------------------------------------------------------------------

ERROR_TEXT = {
    400: "invalid request; the message names the field and why",
    401: "authentication required or failed",
    403: "authenticated but not allowed (missing scope, CSRF token or origin)",
    404: "no such resource or endpoint",
    405: "method not allowed on this path",
    409: "conflicts with an existing resource",
    413: "request body larger than server.max_body_bytes",
    429: "rate limited; Retry-After says when to retry",
    500: "internal error; details are only in the server log",
    502: "an upstream server failed",
    503: "not available right now",
}
# Every API operation may return these, because the request guard applies to all of them.
COMMON_ERRORS = (401, 403, 429, 500)


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error_responses(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": ERROR_TEXT[code], "content": json_content(ref("Error"))} for code in codes}


def operation(
    summary: str,
    tag: str,
    response: dict[str, Any] | None = None,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (),
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    description: str | None = None,
    content_type: str = "application/json",
    body_required: bool = True,
) -> dict[str, Any]:
    """Build one operation object; ``response`` is the success schema (None for an empty body)."""
    success: dict[str, Any] = {"description": "success"}
    if response is not None:
        success["content"] = {content_type: {"schema": response}}
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {str(status): success, **error_responses(*sorted(set(errors) | set(COMMON_ERRORS)))},
    }
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": json_content(body)}
        op["responses"].update(error_responses(400, 413))
    return op


def path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def query_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


RANGE_PARAM = query_param("range", {"type": "string", "enum": ["1h", "24h", "7d", "30d", "90d"], "default": "1h"},
                          "time range ending now")
POINTS_PARAM = query_param("points", {"type": "integer", "minimum": 2, "maximum": 1000, "default": 60},
                           "maximum points per series")
IDS_PARAM = query_param("ids", {"type": "string"}, "comma-separated resource ids; all when omitted")
METRICS_PARAM = query_param(
    "metrics", {"type": "string", "pattern": "^(cpu|memory|disk|netin|netout|diskread|diskwrite)(,(cpu|memory|disk|netin|netout|diskread|diskwrite))*$"},
    "comma-separated metrics: cpu, memory, disk (percent), netin, netout, diskread, diskwrite (bytes/s)")

PATHS: dict[str, dict[str, Any]] = {
    "/api/health": {"get": operation("Check that Pulse is running", "core", obj({
        "status": {"const": "healthy"}, "timestamp": {"type": "integer", "description": "epoch seconds"},
        "uptime": {"type": "number", "description": "seconds since start"},
        "websocket": obj({"clients": INTEGER, "dropped": INTEGER, "broadcasts": INTEGER, "skipped": INTEGER}),
    }, required=["status", "timestamp", "uptime"]))},
    "/api/version": {"get": operation("Version and build information", "core", obj({
        "version": STRING, "build": STRING, "runtime": {"const": "python"}, "channel": STRING,
        "isDocker": BOOLEAN, "isDevelopment": BOOLEAN,
    }))},
    "/api/state": {"get": operation(
        "The complete state: nodes, guests, storage, PBS, backups, alerts, connection health", "core",
        ref("State"), description=(
            "Serialized once per poll and served from that cache. Sends an ETag; If-None-Match with the "
            "current tag returns 304. gzip-compressed when the client accepts it."))},
    "/api/plugins": {"get": operation("Loaded plugins", "core", obj({"plugins": array(obj({
        "name": STRING, "distribution": STRING, "version": STRING, "hooks": STRINGS,
        "error": nullable("string"), "blocked": BOOLEAN,
    }))}))},
    "/api/openapi.json": {"get": operation("This document", "core", ANY_OBJECT)},
    "/api/charts": {"get": operation(
        "Metric history of guests and nodes", "history", ref("Charts"), errors=(400,),
        parameters=[RANGE_PARAM, POINTS_PARAM, IDS_PARAM, METRICS_PARAM])},
    "/api/storage-charts": {"get": operation(
        "Usage history of storages and PBS datastores", "history", ref("StorageCharts"), errors=(400,),
        parameters=[RANGE_PARAM, POINTS_PARAM, IDS_PARAM])},
    "/api/storage/": {"get": operation("Storage of all nodes and PBS datastores", "storage", obj({
        "storage": array(ref("Storage")), "datastores": array(ref("Datastore"))}))},
    "/api/storage": {"get": operation("The same as /api/storage/, without a redirect", "storage", obj({
        "storage": array(ref("Storage")), "datastores": array(ref("Datastore"))}))},
    "/api/storage/{nodeId}": {"get": operation(
        "Storage one node sees", "storage", obj({"node": STRING, "storage": array(ref("Storage"))}),
        errors=(404,), parameters=[path_param("nodeId", "node id as in /api/state nodes[].id")])},
    "/api/backups": {"get": operation("All backups: PVE tasks, files and snapshots, PBS snapshots", "backups", obj({
        "backupTasks": array(ref("BackupTask")), "storageBackups": array(ref("StorageBackup")),
        "guestSnapshots": array(ref("GuestSnapshot")), "pbsBackups": array(ref("PBSBackup"))}))},
    "/api/backups/unified": {"get": operation(
        "Every backup copy in one list, newest first", "backups", obj({"backups": array(ref("UnifiedBackup"))}))},
    "/api/backups/pve": {"get": operation("PVE backup tasks, backup files and guest snapshots", "backups",
                                          ref("PVEBackups"))},
    "/api/backups/pbs": {"get": operation("PBS backup snapshots", "backups",
                                          obj({"pbsBackups": array(ref("PBSBackup"))}))},
    "/api/backups/guests": {"get": operation(
        "The last backup of every guest over PBS, PVE storage and vzdump tasks", "backups",
        obj({"guests": array(obj({
            "guestId": STRING, "instance": STRING, "vmid": INTEGER, "time": nullable("integer"),
            "source": nullable("string", description="pbs, pve or task"),
            "verification": nullable("string", description="ok, failed or none for a PBS snapshot"),
            "pbsInstance": nullable("string"), "datastore": nullable("string"), "namespace": nullable("string"),
            "ambiguous": BOOLEAN, "ambiguousWith": STRINGS, "missing": BOOLEAN,
        }))}),
        description="A PBS backup group names only a type and VMID. When guests of several PVE connections "
                    "match it and their PBS storage settings cannot tell them apart, it counts for each of them "
                    "and ambiguous is true. missing is true without a backup in the last 2 days.")},
    "/api/snapshots": {"get": operation("Guest snapshots", "backups", obj({"snapshots": array(ref("GuestSnapshot"))}))},
    "/api/config/nodes": {
        "get": operation("List configured nodes (secrets are never returned)", "nodes", array(ref("NodeConfig"))),
        "post": operation("Add a node; it is polled without a restart", "nodes", ref("NodeConfig"), status=201,
                          errors=(409,), body=ref("NodeCreate")),
    },
    "/api/config/nodes/test-connection": {"post": operation(
        "Test a connection before saving it", "nodes", ref("ConnectionReport"), body=ref("NodeTest"), errors=(404,),
        description="A failed connection is a 200 with ok=false and a message; 400 means the settings are invalid.")},
    "/api/config/nodes/{nodeId}": {
        "parameters": [path_param("nodeId", "node id from GET /api/config/nodes")],
        "get": operation("One configured node", "nodes", ref("NodeConfig"), errors=(404,)),
        "put": operation(
            "Change a node; omitted fields and empty secrets keep their stored values", "nodes", ref("NodeConfig"),
            errors=(404,), body=ref("NodeInput")),
        "delete": operation("Remove a node and stop polling it", "nodes", None, status=204, errors=(404,)),
    },
    "/api/config/system": {
        "get": operation("System settings (saved values over configured defaults)", "system", ref("SystemSettings")),
        "post": operation("Change system settings; omitted fields keep their values", "system",
                          ref("SystemSettings"), body=ref("SystemSettingsInput")),
    },
    "/ws": {"get": {
        "summary": "WebSocket: the full state on connect and the newest state after polls",
        "tags": ["core"],
        "description": (
            "Text frames with JSON objects: {type: initialState, data: State} on connect, "
            "{type: rawData, data: State} after polls and in reply to {type: requestData}, "
            "{type: pong, timestamp} in reply to {type: ping}. A client gets only the newest state: "
            "states that arrive while a send to it is in progress are skipped. A client whose send has "
            "not completed for 60 seconds is disconnected with close code 1013."),
        "responses": {"101": {"description": "switching protocols"},
                      **error_responses(400, 401, 403, 429)},
    }},
    "/metrics": {"get": operation("Prometheus metrics", "core", STRING, content_type="text/plain")},
}

# Endpoints served by other areas (security, alerts, notifications); see also feature_paths().
_OBJECT_BODY = {"type": "object"}
_OK = obj({"success": BOOLEAN}, required=[])
OTHER_PATHS: dict[str, dict[str, Any]] = {
    "/api/login": {"post": operation("Log in with username and password; sets the session cookie", "security",
                                     ANY_OBJECT, body=obj({"username": STRING, "password": STRING}), errors=(401,))},
    "/api/logout": {"post": operation("End the current session", "security", _OK)},
    "/api/security/status": {"get": operation("Whether authentication is configured and who is logged in",
                                              "security", ANY_OBJECT)},
    "/api/security/change-password": {"post": operation("Change the login password", "security", ANY_OBJECT,
                                                        body=_OBJECT_BODY)},
    "/api/system/api-token": {"get": operation(
        "API token status; ?reveal=true returns the token", "security", ANY_OBJECT,
        parameters=[query_param("reveal", {"type": "boolean"}, "return the token itself")])},
    "/api/system/api-token/generate": {"post": operation("Generate a new API token", "security", ANY_OBJECT)},
    "/api/system/api-token/delete": {"delete": operation("Remove the API token", "security", ANY_OBJECT)},
    "/api/security/tokens": {
        "get": operation("List scoped API tokens", "security", ANY_OBJECT),
        "post": operation("Create a scoped API token", "security", ANY_OBJECT, status=201, body=_OBJECT_BODY,
                          errors=(409,),
                          description="409: the name is taken, or no password is set and the token lacks the * "
                                      "scope (it would turn sign-in on with no way to set a password)."),
    },
    "/api/security/tokens/{tokenId}": {
        "parameters": [path_param("tokenId", "token id")],
        "get": operation("One API token", "security", ANY_OBJECT, errors=(404,)),
        "put": operation("Change an API token", "security", ANY_OBJECT, errors=(404, 409), body=_OBJECT_BODY),
        "delete": operation("Revoke an API token", "security", ANY_OBJECT, errors=(404, 409)),
    },
    "/api/security/lockout": {"get": operation("Locked-out accounts and addresses", "security", ANY_OBJECT)},
    "/api/security/lockout/reset": {"post": operation(
        "Clear the lockout of one username or address, or all without a body", "security", ANY_OBJECT,
        body=obj({"username": STRING, "address": STRING}, required=[]), body_required=False)},
    "/api/security/audit": {"get": operation("Security audit log", "security", ANY_OBJECT)},
    "/api/notifications/email": {
        "get": operation("Email notification settings (secrets not returned)", "notifications", ANY_OBJECT),
        "post": operation("Change email notification settings", "notifications", ANY_OBJECT, body=_OBJECT_BODY),
    },
    "/api/notifications/email/test": {"post": operation("Send a test email", "notifications", ANY_OBJECT,
                                                        body=_OBJECT_BODY)},
    "/api/notifications/email-providers": {"get": operation("Known email providers and their SMTP settings",
                                                            "notifications", ANY_OBJECT)},
    "/api/notifications/webhooks": {
        "get": operation("List webhooks", "notifications", ANY_OBJECT),
        "post": operation("Create a webhook", "notifications", ANY_OBJECT, body=obj({
            "name": STRING, "url": STRING, "method": STRING, "service": STRING, "enabled": BOOLEAN,
            "template": STRING, "headers": {"type": "object", "additionalProperties": STRING},
            "customFields": ANY_OBJECT, "hmacSecret": STRING,
            "rateLimitPerMinute": {"type": "integer", "minimum": 1, "maximum": 600}},
            required=["name", "url"], additional=False)),
    },
    "/api/notifications/webhooks/{id}": {
        "parameters": [path_param("id", "webhook id")],
        "put": operation("Change a webhook", "notifications", ANY_OBJECT, errors=(404,), body=_OBJECT_BODY),
        "delete": operation("Delete a webhook", "notifications", ANY_OBJECT, errors=(404,)),
    },
    "/api/notifications/webhooks/test": {"post": operation("Send a test webhook", "notifications", ANY_OBJECT,
                                                           body=_OBJECT_BODY)},
    "/api/notifications/webhook-templates": {"get": operation("Payload templates per service", "notifications",
                                                              ANY_OBJECT)},
    "/api/notifications/webhook-templates/preview": {"post": operation(
        "Render a webhook payload template with a sample alert", "notifications", ANY_OBJECT, body=_OBJECT_BODY)},
    "/api/notifications/thresholds": {
        "get": operation("Alert thresholds", "alerts", ANY_OBJECT),
        "post": operation("Change alert thresholds", "alerts", ANY_OBJECT, body=_OBJECT_BODY),
    },
    "/api/notifications/thresholds/overrides": {
        "get": operation("Per-resource threshold overrides", "alerts", ANY_OBJECT),
        "post": operation("Set per-resource threshold overrides", "alerts", ANY_OBJECT, body=_OBJECT_BODY),
    },
    "/api/notifications/alerts": {"get": operation("Active and recent alerts", "alerts", ANY_OBJECT)},
    "/api/notifications/alerts/clear": {"post": operation("Clear the alert history", "alerts", ANY_OBJECT)},
    "/api/notifications/alerts/acknowledge": {"post": operation("Acknowledge alerts by id", "alerts", ANY_OBJECT,
                                                                errors=(404,), body=_OBJECT_BODY)},
    "/api/notifications/alerts/unacknowledge": {"post": operation("Remove acknowledgements by id", "alerts",
                                                                  ANY_OBJECT, errors=(404,), body=_OBJECT_BODY)},
    "/api/notifications/alerts/{alertId}/acknowledge": {"post": operation(
        "Acknowledge one alert", "alerts", ref("Alert"), errors=(404,),
        parameters=[path_param("alertId", "alert id")])},
    "/api/notifications/alerts/{alertId}/unacknowledge": {"post": operation(
        "Remove one acknowledgement", "alerts", ref("Alert"), errors=(404,),
        parameters=[path_param("alertId", "alert id")])},
    "/api/notifications/queue": {"get": operation("Pending notification deliveries", "notifications", ANY_OBJECT)},
    "/api/notifications/dead-letters": {"get": operation("Deliveries that gave up", "notifications", ANY_OBJECT)},
    "/api/notifications/dead-letters/{deliveryId}/retry": {"post": operation(
        "Retry a dead delivery", "notifications", ANY_OBJECT, errors=(404,),
        parameters=[path_param("deliveryId", "delivery id")])},
}


def add_paths(paths: Mapping[str, Mapping[str, Any]]) -> None:
    """Merge path items (``{path: {method: operation}}``) into the document, e.g. from a plugin."""
    for path, item in paths.items():
        for method, op in item.items():
            add_operation(path, method, dict(op) if isinstance(op, Mapping) else op)


def add_operation(path: str, method: str, op: Any) -> None:
    """Describe one more endpoint; ``path`` uses OpenAPI ``{param}`` syntax."""
    global _CACHED
    PATHS.setdefault(path, {})[method.lower()] = op
    _CACHED = None


def feature_paths() -> dict[str, dict[str, Any]]:
    """Return the operations of the core features whose routes live in their own modules.

    Export/import, guest metadata, setup scripts and updates describe their
    routes next to them; listing them here keeps the document complete without
    an application.
    """
    from pulse_core import guest_metadata, setup_script, transfer_routes, updates

    return {
        **transfer_routes.openapi_paths(),
        **guest_metadata.openapi_paths(),
        **setup_script.openapi_paths(),
        **updates.openapi_paths(),
    }


def document() -> dict[str, Any]:
    """Return the OpenAPI document (a new dict each call; the tables above are the source)."""
    paths = {**OTHER_PATHS, **feature_paths()}
    for path, item in PATHS.items():
        paths[path] = {**paths.get(path, {}), **item}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pulse API",
            "version": pulse_core.__version__,
            "description": (
                "Monitoring API for Proxmox VE and Proxmox Backup Server. Errors are "
                '{"error": "..."}. Authenticate with the X-API-Token header or the session cookie; '
                "state-changing requests with a session need the X-CSRF-Token header."),
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiToken": {"type": "apiKey", "in": "header", "name": "X-API-Token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "pulse_session"},
            },
        },
        "security": [{}, {"apiToken": []}, {"session": []}],
        "paths": dict(sorted(paths.items())),
    }


_CACHED: bytes | None = None


@blueprint.get("/api/openapi.json")
async def openapi_json() -> Response:
    global _CACHED
    if _CACHED is None:
        _CACHED = orjson.dumps(document())
    return Response(_CACHED, content_type="application/json")
