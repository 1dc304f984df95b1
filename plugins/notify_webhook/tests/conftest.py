"""Fixtures: a webhook receiver on 127.0.0.1, a settings store and the plugin's routes in a test app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart_trio import QuartTrio

from pulse_core.config import SettingsStore
from pulse_core.testing.context import recording_context
from pulse_core.testing.webhook_receiver import WebhookReceiver, open_webhook_receiver
from pulse_core.web.errors import install_error_handlers
from pulse_notify_webhook.routes import create_blueprint


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with open_webhook_receiver() as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path)


@pytest.fixture
def context(settings: SettingsStore) -> Any:
    return recording_context(settings)


@pytest.fixture
def client(context: Any) -> Any:
    app = QuartTrio(__name__)
    install_error_handlers(app)
    app.register_blueprint(create_blueprint(context))
    return app.test_client()
