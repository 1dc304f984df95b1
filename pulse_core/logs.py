"""Logging setup: text or JSON lines on stderr, configured once by the CLI."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# Records kept before logging is configured; plugin loading logs a handful, so this is ample.
STARTUP_BUFFER_CAPACITY = 1000


class StartupBuffer(logging.Handler):
    """Records logged before ``configure_logging`` runs, for it to write out afterwards.

    The CLI loads plugins before it can read the configuration (plugins add
    configuration sections), so their "Loaded plugin" and "failed to import"
    lines would otherwise go nowhere. Records past the capacity are dropped.
    """

    def __init__(self, capacity: int = STARTUP_BUFFER_CAPACITY) -> None:
        super().__init__(logging.DEBUG)
        self.capacity = capacity
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < self.capacity:
            self.records.append(record)


def buffer_startup_logs() -> StartupBuffer:
    """Install a ``StartupBuffer`` as the root logger's only handler and return it."""
    buffer = StartupBuffer()
    root = logging.getLogger()
    root.handlers[:] = [buffer]
    root.setLevel(logging.DEBUG)
    return buffer


def configure_logging(level: str = "INFO", fmt: str = "text", replay: StartupBuffer | None = None) -> None:
    """Log to stderr as text or JSON lines; then write out what ``replay`` buffered, at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Hypercorn and httpx log every request at INFO; keep them for DEBUG runs.
    for noisy in ("hypercorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    if replay is not None:
        for record in replay.records:
            if logging.getLogger(record.name).isEnabledFor(record.levelno):
                handler.handle(record)
        replay.records.clear()
