"""The plugin host: discovery, isolation of broken plugins and hook validation."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pulse_core import hookimpl, hookspecs
from pulse_core.errors import PluginError
from pulse_core.plugins import PluginHost, build_plugin_host

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "tests" / "fixtures" / "pulse_hello_plugin"
BUNDLED = {"pve", "pbs", "notify_email", "notify_webhook", "storage_sqlite"}


def test_bundled_plugins_discovered():
    host = build_plugin_host()
    names = {info.name for info in host.infos if info.error is None}
    assert BUNDLED <= names
    dists = {info.distribution for info in host.infos}
    assert {"pulse-pve", "pulse-pbs", "pulse-storage-sqlite"} <= dists


def test_every_hookspec_documented():
    specs = [name for name in dir(hookspecs) if name.startswith("pulse_")]
    assert len(specs) >= 8
    for name in specs:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Called" in doc or "called" in doc, f"{name} must say when it is called"


def test_unknown_hook_rejected():
    module = types.ModuleType("bad_plugin")

    @hookimpl
    def pulse_no_such_hook():
        return []

    module.pulse_no_such_hook = pulse_no_such_hook
    host = PluginHost()
    host.register_module(module, "bad")
    info = host.infos[-1]
    assert info.error is not None
    assert "pulse_no_such_hook" in info.error
    assert host.manager.get_plugin("bad") is None


def _fake_entry_points(monkeypatch, eps):
    def fake(group=None, **kwargs):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def test_plugin_import_failure_isolated(monkeypatch, caplog):
    broken = importlib.metadata.EntryPoint("broken", "pulse_no_such_module_xyz", "pulse")
    _fake_entry_points(monkeypatch, [broken])
    host = PluginHost()
    host.load_entry_points()
    assert host.infos[0].error.startswith("ModuleNotFoundError")
    assert "broken" in caplog.text
    # Only fatal when the configuration needs it.
    with pytest.raises(PluginError, match="broken .* failed to load"):
        host.require("broken", "node 'x' has type 'broken'")


def test_blocked_plugin_not_loaded(monkeypatch):
    ep = importlib.metadata.EntryPoint("pve", "pulse_pve", "pulse")
    _fake_entry_points(monkeypatch, [ep])
    host = PluginHost(blocked=["pve"])
    host.load_entry_points()
    assert host.infos[0].blocked
    assert host.manager.get_plugin("pve") is None
    with pytest.raises(PluginError, match="blocked"):
        host.require("pve", "a node uses it")


def test_duplicate_source_type_rejected():
    def make(name):
        module = types.ModuleType(name)

        class T:
            pass

        T.name = "same"

        @hookimpl
        def pulse_source_types():
            return [T()]

        module.pulse_source_types = pulse_source_types
        return module

    host = PluginHost()
    host.register_module(make("one"), "one")
    host.register_module(make("two"), "two")
    with pytest.raises(PluginError, match="'same'"):
        host.source_types()


@pytest.mark.slow
def test_third_party_plugin_installed_with_pip(tmp_path):
    """A plugin distribution installed with pip is discovered, listed and called."""
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(HELLO)],
        capture_output=True, text=True, timeout=300,
    )
    if install.returncode != 0 and "hatchling" in install.stderr and "No matching distribution" in install.stderr:
        pytest.skip("the build backend hatchling cannot be downloaded here")
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    listed = subprocess.run([sys.executable, "-m", "pulse_core", "plugins"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "hello" in listed.stdout
    assert "pulse-hello 0.0.1" in listed.stdout
    assert "pulse_source_types" in listed.stdout

    script = (
        "import trio\n"
        "from pulse_core.cli import make_host\n"
        "from pulse_core import NodeSettings\n"
        "types_ = make_host().source_types()\n"
        "src = types_['hello'].create(NodeSettings(id='h', type='hello', name='h', host='local'))\n"
        "result = trio.run(src.poll)\n"
        "print(result.nodes[0].id, result.nodes[0].status)\n"
    )
    called = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert called.returncode == 0, called.stderr
    assert called.stdout.strip() == "h-hello online"
