"""Turns alert events into notifications and hands them to notifier channels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import trio

log = logging.getLogger(__name__)


class NotificationDispatcher:
    def __init__(self, storage: Any, settings: Any, channel_factory: Any) -> None:
        self.storage = storage
        self.settings = settings
        self.channel_factory = channel_factory

    async def submit(self, events: Sequence[Any]) -> None:
        # TODO: grouping, the persistent queue and retries are being built.
        for event in events:
            log.info("Alert event %s for %s", event.event, event.alert.resource_id)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()
