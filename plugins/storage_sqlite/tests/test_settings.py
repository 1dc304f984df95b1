from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from pulse_core import ConfigError

import pulse_storage_sqlite
from pulse_storage_sqlite import SqliteStorageSettings

REPO = Path(__file__).resolve().parents[3]


def test_defaults_match_documented_tiers() -> None:
    settings = SqliteStorageSettings()
    assert settings.retentions() == (2 * 3600, 48 * 3600, 30 * 86400, 90 * 86400)
    assert settings.file == "pulse.db"
    assert settings.alert_history_days == 30


def test_unknown_key_rejected() -> None:
    with pytest.raises(ValidationError, match="raw_retention"):
        SqliteStorageSettings(raw_retention=3)  # type: ignore[call-arg]


def test_retention_capped_at_one_year() -> None:
    SqliteStorageSettings(hour_retention_days=365)
    with pytest.raises(ValidationError, match="hour_retention_days"):
        SqliteStorageSettings(hour_retention_days=366)


def test_short_raw_retention_explained() -> None:
    with pytest.raises(ValidationError, match="raw_retention_hours: 0.25 hours is too short; the rollups above the raw"):
        SqliteStorageSettings(raw_retention_hours=0.25)
    with pytest.raises(ValidationError, match="minute_retention_hours: 1.00 hours is too short"):
        SqliteStorageSettings(minute_retention_hours=1)
    # The 15-minute and 1-hour tiers feed nothing, so any retention works.
    SqliteStorageSettings(quarter_hour_retention_days=0.5, hour_retention_days=0.5)


def test_type_create_reports_section_path(tmp_path: Path) -> None:
    storage_type = pulse_storage_sqlite.pulse_storage_types()[0]
    assert storage_type.name == "sqlite"
    with pytest.raises(ConfigError) as caught:
        storage_type.create(str(tmp_path), {"prune_interval_seconds": 1})
    assert caught.value.problems[0].startswith("storage_sqlite.prune_interval_seconds:")
    storage = storage_type.create(str(tmp_path), {"file": "metrics.db"})
    assert storage.path == tmp_path / "metrics.db"


def test_config_section_hook() -> None:
    sections = pulse_storage_sqlite.pulse_config_sections()
    assert sections == {"storage_sqlite": SqliteStorageSettings}
    assert SqliteStorageSettings.model_config["extra"] == "forbid"


def test_example_config_documents_every_key() -> None:
    example = REPO / "config.example.yaml"
    if not example.exists():
        pytest.skip("config.example.yaml is not in this checkout")
    section = yaml.safe_load(example.read_text())["storage_sqlite"]
    assert set(section) == set(SqliteStorageSettings.model_fields)
    # The documented values are the defaults.
    assert SqliteStorageSettings(**section) == SqliteStorageSettings()
