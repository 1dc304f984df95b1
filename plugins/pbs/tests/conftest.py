"""A small in-process PBS API for source tests, served through ``httpx.MockTransport``.

Backup groups are derived from the snapshot table, as PBS derives them from
the directory tree, so a test states only datastores, namespaces and
snapshots. ``overrides`` replaces the response of one path (status, body,
content type) and ``requests`` records every request for counting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

from pulse_core import NodeSettings

GiB = 1024**3
SECRET = "5f3c2a1e-0000-4000-8000-123456789abc"
TOKEN_HEADER = f"PBSAPIToken=monitor@pbs!pulse:{SECRET}"
TICKET = "PBS:monitor@pbs:6A1B2C3D::c2lnbmF0dXJl"
CSRF = "6A1B2C3D:Y3NyZg"
PASSWORD = "correct horse"


def settings_for(host: str = "pbs.example:8007", **overrides: Any) -> NodeSettings:
    values: dict[str, Any] = {
        "id": "pbs1", "type": "pbs", "name": "pbs1", "host": host, "user": "monitor@pbs",
        "token_name": "pulse", "token_value": SECRET, "verify_ssl": True, "fingerprint": None, "options": {},
    }
    values.update(overrides)
    return NodeSettings(**values)


def snapshot_item(backup_type: str, backup_id: str, backup_time: int, *, size: int = GiB,
                  verification: str | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "backup-type": backup_type, "backup-id": backup_id, "backup-time": backup_time,
        "files": [{"filename": "index.json.blob", "size": 600, "crypt-mode": "none"}],
        "size": size, "owner": "root@pam", "protected": False,
    }
    if verification is not None:
        item["verification"] = {"state": verification, "upid": "UPID:pbs:00000001:00000001:00000001:6A000000:verify:x:root@pam:"}
    item.update(extra)
    return item


class FakePBS:
    def __init__(self) -> None:
        self.auth_mode = "token"
        self.datastores: list[dict[str, Any]] = [
            {"store": "store1", "comment": None, "mount-status": "nonremovable", "backend-type": "filesystem"},
        ]
        self.usage: list[dict[str, Any]] = [{
            "store": "store1", "total": 1000 * GiB, "used": 400 * GiB, "avail": 600 * GiB,
            "mount-status": "nonremovable", "backend-type": "filesystem", "estimated-full-date": 1800000000,
            "gc-status": {"upid": "UPID:pbs:00000001:00000001:00000001:6A000000:garbage_collection:store1:root@pam:",
                          "index-data-bytes": 1200 * GiB, "disk-bytes": 400 * GiB},
        }]
        self.gc: list[dict[str, Any]] = [{"store": "store1", "upid": "UPID:x", "last-run-state": "OK",
                                          "last-run-endtime": 1767200000, "next-run": 1767290000,
                                          "schedule": "daily"}]
        self.namespaces: dict[str, list[str]] = {"store1": [""]}
        self.snapshots: dict[tuple[str, str], list[dict[str, Any]]] = {("store1", ""): []}
        self.jobs: dict[str, list[dict[str, Any]]] = {"sync": [], "verify": [], "prune": []}
        self.tasks: list[dict[str, Any]] = []
        self.node_status: dict[str, Any] | None = {
            "cpu": 0.05, "memory": {"total": 16 * GiB, "used": 4 * GiB, "free": 12 * GiB},
            "root": {"total": 100 * GiB, "used": 10 * GiB, "avail": 90 * GiB}, "uptime": 3600,
            "loadavg": [0.5, 0.4, 0.3],
        }
        self.overrides: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[httpx.Request] = []
        self.logins = 0

    # -- helpers for tests -----------------------------------------------------------------------

    def paths(self, prefix: str = "") -> list[str]:
        """Return "path?query" of every request whose path starts with ``prefix``."""
        out = []
        for request in self.requests:
            path = request.url.path.removeprefix("/api2/json")
            if path.startswith(prefix):
                query = unquote(request.url.query.decode()) if request.url.query else ""
                out.append(f"{path}?{query}" if query else path)
        return out

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- the API ----------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api2/json")
        if path in self.overrides:
            status, body, content_type = self.overrides[path]
            return httpx.Response(status, content=body, headers={"content-type": content_type})
        if path == "/access/ticket" and request.method == "POST":
            form = dict(httpx.QueryParams(request.content.decode()))
            if form.get("username") == "monitor@pbs" and form.get("password") in (PASSWORD, TICKET):
                self.logins += 1
                return self._json({"username": "monitor@pbs", "ticket": TICKET, "CSRFPreventionToken": CSRF})
            return self._text(401, "authentication failed")
        if not self._authorized(request):
            return self._text(401, "authentication failed")
        params = dict(request.url.params)
        data = self._route(path, params)
        if isinstance(data, httpx.Response):
            return data
        return self._json(data)

    def _authorized(self, request: httpx.Request) -> bool:
        if self.auth_mode == "token":
            return request.headers.get("authorization") == TOKEN_HEADER
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "PBSAuthCookie" and unquote(value) == TICKET:
                return True
        return False

    def _route(self, path: str, params: Mapping[str, str]) -> Any:
        parts = path.strip("/").split("/")
        if path == "/version":
            return {"version": "4.0", "release": "14", "repoid": "abc"}
        if path == "/nodes/localhost/status":
            if self.node_status is None:
                return self._text(403, "permission check failed")
            return self.node_status
        if path == "/nodes/localhost/tasks":
            return self.tasks
        if path == "/admin/datastore":
            return self.datastores
        if path == "/status/datastore-usage":
            return self.usage
        if path == "/admin/gc":
            return self.gc
        if len(parts) == 2 and parts[0] == "admin" and parts[1] in self.jobs:
            return self.jobs[parts[1]]
        if len(parts) == 4 and parts[:2] == ["admin", "datastore"]:
            store, resource = parts[2], parts[3]
            ns = params.get("ns", "")
            if store not in self.namespaces:
                return self._text(400, f"datastore '{store}' does not exist")
            if resource == "namespace":
                return [{"ns": name} for name in self.namespaces[store]]
            if ns not in self.namespaces[store]:
                return self._text(400, f"namespace '{ns}' does not exist")
            items = self.snapshots.get((store, ns), [])
            if resource == "snapshots":
                requested_type, requested_id = params.get("backup-type"), params.get("backup-id")
                return [item for item in items if (not requested_type or item["backup-type"] == requested_type)
                        and (not requested_id or item["backup-id"] == requested_id)]
            if resource == "groups":
                groups: dict[tuple[str, str], dict[str, Any]] = {}
                for item in items:
                    key = (item["backup-type"], item["backup-id"])
                    entry = groups.setdefault(key, {"backup-type": key[0], "backup-id": key[1], "last-backup": 0,
                                                    "backup-count": 0, "files": [], "owner": item.get("owner")})
                    entry["backup-count"] += 1
                    entry["last-backup"] = max(entry["last-backup"], item["backup-time"])
                return list(groups.values())
        return self._text(404, f"Path '/api2/json{path}' not found.")

    @staticmethod
    def _json(data: Any) -> httpx.Response:
        return httpx.Response(200, content=orjson.dumps({"data": data}),
                              headers={"content-type": "application/json;charset=UTF-8"})

    @staticmethod
    def _text(status: int, text: str) -> httpx.Response:
        # PBS sends bare error text under a JSON content type.
        return httpx.Response(status, content=text.encode(), headers={"content-type": "application/json;charset=UTF-8"})
