"""Pulse plugin pulse_storage_sqlite: hook implementations; the work lives in the modules beside this one.

``backend`` contains the StorageBackend, ``history`` the metric tiers and rollups,
``records`` alerts, audit, queue and sessions, and ``schema`` the migrations.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulse_core import ConfigError, hookimpl
from pydantic import ValidationError

from pulse_storage_sqlite.backend import SqliteStorage
from pulse_storage_sqlite.settings import SqliteStorageSettings

SECTION = "storage_sqlite"

__all__ = ["SECTION", "SqliteStorage", "SqliteStorageSettings", "SqliteStorageType"]


class SqliteStorageType:
    """Creates the SQLite backend from the ``storage_sqlite`` section."""

    name = "sqlite"

    def create(self, data_dir: str, options: Mapping[str, Any]) -> SqliteStorage:
        try:
            settings = SqliteStorageSettings.model_validate(dict(options))
        except ValidationError as exc:
            raise ConfigError(
                [f"{SECTION}.{'.'.join(str(part) for part in error['loc']) or '(section)'}: {error['msg']}" for error in exc.errors()]
            ) from exc
        return SqliteStorage(Path(data_dir) / settings.file, settings)


@hookimpl
def pulse_storage_types() -> list[SqliteStorageType]:
    return [SqliteStorageType()]


@hookimpl
def pulse_config_sections() -> dict[str, type[SqliteStorageSettings]]:
    return {SECTION: SqliteStorageSettings}
