"""Per-guest and per-node backoff entries are forgotten when the guest or node is gone."""

from __future__ import annotations

from pulse_pve.source import Backoff, backoff_key_present


def test_backoff_forgets_vanished_guests_and_nodes():
    backoff = Backoff(5.0)
    for key in ("detail:101", "detail:102", "status:pve1", "status:pve2"):
        backoff.failed(key, now=0.0)

    guests = {101: object()}
    nodes = {"pve1": object()}
    backoff.retain(lambda key: backoff_key_present(key, guests, nodes))

    assert backoff.failures("detail:101") == 1
    assert backoff.failures("status:pve1") == 1
    assert backoff.failures("detail:102") == 0
    assert backoff.failures("status:pve2") == 0


def test_backoff_key_present_keeps_other_keys():
    assert backoff_key_present("cluster:resources", {}, {})
    assert not backoff_key_present("detail:abc", {101: object()}, {})
