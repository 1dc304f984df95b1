"""Metric history for charts, and the storage list per node.

``GET /api/charts`` returns, for each guest and node in the current state,
``{metric: [point, ...]}`` where a point is
``{"timestamp": epoch seconds, "value": average, "min": ..., "max": ...}``
over one bucket of the range. Usage metrics are percent (0-100), rates are
bytes per second. ``GET /api/storage-charts`` does the same for storages and
PBS datastores with the ``usage`` metric.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import orjson
import trio
from quart import Blueprint, Response, current_app, request

from pulse_core.model import node_id
from pulse_core.state import GUEST_METRICS, datastore_to_api, storage_to_api
from pulse_core.web.errors import ApiError
from pulse_core.web.jsonio import current_daemon, json_response

blueprint = Blueprint("history", __name__)

RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}
DEFAULT_RANGE = "1h"
NODE_METRICS = ("cpu", "memory", "disk")
# Points per series: enough for a chart a few hundred pixels wide, small enough
# that all series of a 2,500-guest state stay a few megabytes.
DEFAULT_POINTS = 60
MAX_POINTS = 1000


# Distinct queries (range, points, ids, metrics) whose last result is kept.
CACHE_ENTRIES = 32


class ChartCache:
    """The last body of each chart query, reused until the state changes (the next poll).

    Chart queries read many series from storage, so several browser tabs asking
    at once share one query, and a repeat within one poll interval costs nothing.
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._locks: dict[str, trio.Lock] = {}

    async def get(self, key: str, version: int, build: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
        lock = self._locks.setdefault(key, trio.Lock())
        async with lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == version:
                self._entries.move_to_end(key)
                return cached[1]
            body = orjson.dumps(await build())
            self._entries[key] = (version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > CACHE_ENTRIES:
                oldest, _ = self._entries.popitem(last=False)
                self._locks.pop(oldest, None)
            return body


def _cached_json(build: Callable[[], Awaitable[dict[str, Any]]]) -> Awaitable[bytes]:
    cache: ChartCache = current_app.extensions.setdefault("pulse_chart_cache", ChartCache())
    key = f"{request.path}?{request.query_string.decode()}"
    return cache.get(key, current_daemon().state.version, build)


def _body_response(body: bytes) -> Response:
    return Response(body, content_type="application/json", headers={"Cache-Control": "no-store"})


def _range_seconds() -> tuple[str, int]:
    name = request.args.get("range", DEFAULT_RANGE)
    if name not in RANGES:
        raise ApiError(400, f"range: unknown value {name!r}; use one of {', '.join(RANGES)}")
    return name, RANGES[name]


def _points() -> int:
    raw = request.args.get("points")
    if raw is None:
        return DEFAULT_POINTS
    try:
        points = int(raw)
    except ValueError:
        raise ApiError(400, f"points: {raw!r} is not an integer; use 2 to {MAX_POINTS}") from None
    if not 2 <= points <= MAX_POINTS:
        raise ApiError(400, f"points: {points} is out of range; use 2 to {MAX_POINTS}")
    return points


def _id_filter() -> set[str] | None:
    """Return the ids named by ``?ids=a,b`` or None when every resource is wanted."""
    raw = request.args.get("ids")
    if raw is None:
        return None
    return {item.strip() for item in raw.split(",") if item.strip()}


def _metric_filter(known: Sequence[str]) -> list[str]:
    raw = request.args.get("metrics")
    if raw is None:
        return list(known)
    wanted = [item.strip() for item in raw.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in known]
    if unknown or not wanted:
        raise ApiError(400, f"metrics: unknown metric {', '.join(unknown) or '(empty)'}; use any of {', '.join(known)}")
    return wanted


def _series(points: Iterable[Any]) -> list[dict[str, float]]:
    if hasattr(points, "avg"):
        # Column lists from a backend's query_history_columns: no point object to read.
        return [
            {"timestamp": ts, "value": avg, "min": low, "max": high}
            for ts, avg, low, high in zip(points.ts, points.avg, points.min, points.max)
        ]
    return [{"timestamp": point.ts, "value": point.avg, "min": point.min, "max": point.max} for point in points]


async def _history(ids: list[str], metrics: Sequence[str], start: float, end: float, points: int) -> dict[str, Any]:
    if not ids:
        return {}
    daemon = current_daemon()
    # A backend may offer the same result as column lists, which is cheaper for many series.
    query = getattr(daemon.storage, "query_history_columns", None) or daemon.storage.query_history
    return await query(ids, list(metrics), start, end, points)


# NOTE: without ?ids= this reads every guest's history, so clients should request the guests they show.
# At 2,500 guests and a 1 h range (60 points of 7 metrics) the SQLite backend took about 0.55 s for the
# query and 1.2 s with the 78 MB body (median of 5 on a loaded 2-vCPU machine).
@blueprint.get("/api/charts")
async def charts() -> Response:
    range_name, seconds = _range_seconds()
    points = _points()
    wanted = _id_filter()
    guest_metrics = _metric_filter(GUEST_METRICS)
    return _body_response(await _cached_json(lambda: _charts(range_name, seconds, points, wanted, guest_metrics)))


async def _charts(
    range_name: str, seconds: int, points: int, wanted: set[str] | None, guest_metrics: list[str]
) -> dict[str, Any]:
    daemon = current_daemon()
    end = time.time()
    start = end - seconds
    guest_ids = [guest.id for guest in daemon.state.all("guests") if wanted is None or guest.id in wanted]
    node_ids = [node.id for node in daemon.state.all("nodes") if wanted is None or node.id in wanted]
    node_metrics = [metric for metric in guest_metrics if metric in NODE_METRICS]
    history = await _history(guest_ids + node_ids, guest_metrics, start, end, points)
    guests = {rid: {m: _series(history.get(rid, {}).get(m, ())) for m in guest_metrics} for rid in guest_ids}
    nodes = {rid: {m: _series(history.get(rid, {}).get(m, ())) for m in node_metrics} for rid in node_ids}
    oldest = min(
        (series[0]["timestamp"] for resource in (*guests.values(), *nodes.values()) for series in resource.values() if series),
        default=None,
    )
    return {
        "range": range_name,
        "start": start,
        "end": end,
        "guests": guests,
        "nodes": nodes,
        "stats": {"oldestDataTimestamp": oldest, "points": points},
    }


@blueprint.get("/api/storage-charts")
async def storage_charts() -> Response:
    range_name, seconds = _range_seconds()
    points = _points()
    wanted = _id_filter()
    return _body_response(await _cached_json(lambda: _storage_charts(range_name, seconds, points, wanted)))


async def _storage_charts(range_name: str, seconds: int, points: int, wanted: set[str] | None) -> dict[str, Any]:
    daemon = current_daemon()
    end = time.time()
    start = end - seconds
    storage_ids = [item.id for item in daemon.state.all("storage") if wanted is None or item.id in wanted]
    store_ids = [
        store.id for pbs in daemon.state.all("pbs") for store in pbs.datastores if wanted is None or store.id in wanted
    ]
    history = await _history(storage_ids + store_ids, ["usage"], start, end, points)
    return {
        "range": range_name,
        "start": start,
        "end": end,
        "storage": {rid: {"usage": _series(history.get(rid, {}).get("usage", ()))} for rid in storage_ids},
        "datastores": {rid: {"usage": _series(history.get(rid, {}).get("usage", ()))} for rid in store_ids},
    }


@blueprint.get("/api/storage/")
@blueprint.get("/api/storage", endpoint="storage_all_without_slash")
async def storage_all() -> Response:
    daemon = current_daemon()
    return json_response({
        "storage": [storage_to_api(item) for item in daemon.state.all("storage")],
        "datastores": [datastore_to_api(store) for pbs in daemon.state.all("pbs") for store in pbs.datastores],
    })


@blueprint.get("/api/storage/<node_ref>")
async def storage_of_node(node_ref: str) -> Response:
    """List the storages of one node; ``node_ref`` is the node's id as in /api/state."""
    daemon = current_daemon()
    if not any(node.id == node_ref for node in daemon.state.all("nodes")):
        raise ApiError(404, f"node not found: {node_ref!r}; node ids are listed in /api/state under nodes[].id")
    items = [item for item in daemon.state.all("storage") if node_id(item.instance, item.node) == node_ref]
    return json_response({"node": node_ref, "storage": [storage_to_api(item) for item in items]})
