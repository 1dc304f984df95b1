"""Per-connection settings of a PBS source: validation, cadences and the caps read from ``options``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulse_core import ConnectionConfig, NodeSettings, PollingDefaults, parse_connection, read_counts, read_seconds

from pulse_pbs.client import PBS_API


@dataclass(slots=True)
class Limits:
    """Cadences in seconds and the caps that bound memory and time per poll."""

    interval: float = 30.0
    call_timeout: float = 15.0
    concurrency: int = 4
    # Server status, datastore list and usage run every poll; these run less often.
    jobs: float = 60.0
    tasks: float = 120.0
    namespaces: float = 300.0
    # Every backup group is re-read at least this often, which picks up
    # verification results and comments that do not change a group's count.
    full_pass: float = 3600.0
    # Failed tasks are listed from this far back, at most ``task_limit`` of them.
    task_window: float = 2 * 86400.0
    task_limit: int = 200
    # Snapshots kept per backup group (the newest) and over the whole server.
    group_snapshots: int = 100
    max_snapshots: int = 50_000
    # Backup groups the periodic pass re-reads per poll; new and changed groups are read on top.
    group_fetches: int = 200


_SECONDS = ("interval", "call_timeout", "jobs", "tasks", "namespaces", "full_pass", "task_window")
_COUNTS = {"concurrency": (1, 32), "task_limit": (1, 5000), "group_snapshots": (1, 10_000),
           "max_snapshots": (100, 1_000_000), "group_fetches": (1, 100_000)}


@dataclass(slots=True)
class PBSConfig(ConnectionConfig):
    """Everything a PBS source needs from its ``NodeSettings``, validated once."""

    limits: Limits = field(default_factory=Limits)


def default_limits(polling: PollingDefaults) -> Limits:
    """Return the limits the configuration's ``polling`` section implies; a node's options override them.

    Jobs are detail data (every 60 s by default), failed tasks are read every
    two detail intervals and the namespace list on the slow interval.
    """
    return Limits(
        interval=polling.interval_seconds,
        concurrency=min(polling.max_concurrency, _COUNTS["concurrency"][1]),
        jobs=polling.detail_interval_seconds,
        tasks=polling.detail_interval_seconds * 2,
        namespaces=polling.slow_interval_seconds,
    )


def parse_settings(settings: NodeSettings) -> tuple[PBSConfig | None, list[str]]:
    """Return the parsed config and one "field: reason" line per problem."""
    problems: list[str] = []
    connection = parse_connection(settings, PBS_API, problems)
    limits = default_limits(settings.polling)
    options: dict[str, Any] = dict(settings.options or {})
    read_seconds(options, _SECONDS, limits, problems)
    read_counts(options, _COUNTS, limits, problems)
    if problems or connection["address"] is None:
        return None, problems
    return PBSConfig(**connection, limits=limits), []
