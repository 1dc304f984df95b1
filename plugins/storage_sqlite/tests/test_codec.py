from __future__ import annotations

import random
import zlib

import numpy as np
import pytest

from pulse_storage_sqlite import codec
from pulse_storage_sqlite.errors import CorruptBlockError


def test_raw_block_roundtrip() -> None:
    start = 1_700_000_400
    stamps = [start, start + 10, start + 599]
    values = [0.0, 12.345678, 1.5e9]
    decoded = codec.decode_raw(start, codec.encode_raw(start, stamps, values))
    assert [point[0] for point in decoded] == stamps
    for (_, count, low, avg, high), expected in zip(decoded, values):
        assert count == 1
        assert low == avg == high
        assert avg == pytest.approx(expected, rel=3.1e-5)


def test_rollup_block_keeps_gaps() -> None:
    start = 1_700_000_000
    buckets = [(start, 6, 1.0, 2.0, 3.0), (start + 120, 3, -5.0, 0.5, 7.25)]
    decoded = codec.decode_rollup(start, 60, 60, codec.encode_rollup(start, 60, 60, buckets))
    assert [bucket[:2] for bucket in decoded] == [(start, 6), (start + 120, 3)]
    assert decoded[1][2:] == pytest.approx((-5.0, 0.5, 7.25), rel=3.1e-5)


def test_journal_batch_roundtrip() -> None:
    ids, stamps, values = codec.decode_batch(0, codec.encode_batch(0, [3, 1, 70000], [5, 6, 7], [1.0, 2.0, 3.0]))
    assert list(ids) == [3, 1, 70000]
    assert stamps == [5, 6, 7]
    assert list(values) == [1.0, 2.0, 3.0]


def test_steady_block_is_small() -> None:
    start = 1_700_000_000
    blob = codec.encode_rollup(start, 60, 60, [(start + 60 * i, 6, 42.0, 42.0, 42.0) for i in range(60)])
    # 60 buckets of count, min, avg and max take 660 bytes before compression.
    assert len(blob) < 60


def test_corrupt_blob_raises() -> None:
    with pytest.raises(CorruptBlockError, match="cannot be decompressed"):
        codec.decode_raw(0, b"not zlib")
    with pytest.raises(CorruptBlockError, match="expected 11"):
        codec.decode_rollup(0, 60, 1, zlib.compress(b"\x02abc"))
    with pytest.raises(CorruptBlockError, match="format"):
        codec.decode_raw(0, zlib.compress(b"\x02abcde"))


def test_rollup_precision_bound() -> None:
    rng = random.Random(5)
    values = [rng.uniform(-1e6, 1e6) * 10 ** rng.uniform(-30, 3) for _ in range(2000)]
    rounded = codec.rollup_values(codec.round_rollup_values(values)).tolist()
    worst = max(abs(got - want) / abs(want) for got, want in zip(rounded, values))
    assert worst <= 2**-11 * 1.0001


def test_rollup_zero_and_small_integers_exact() -> None:
    values = [0.0, 1.0, 7.0, 100.0, 2048.0, -3.0]
    assert codec.rollup_values(codec.round_rollup_values(values)).tolist() == values


def test_rollup_rounding_does_not_overflow() -> None:
    largest = float(np.finfo(np.float32).max)
    assert codec.rollup_values(codec.round_rollup_values([largest])).tolist()[0] == pytest.approx(largest, rel=2**-10)


def test_rollup_rounding_is_idempotent() -> None:
    # Minimums and maximums of coarser tiers are rounded again, so they must not drift.
    once = codec.rollup_values(codec.round_rollup_values([0.1234567, 98765.4321, 3.3e-7]))
    twice = codec.rollup_values(codec.round_rollup_values(once))
    assert twice.tolist() == once.tolist()


def test_first_rollup_format_still_decodes(float24_rollup_blob) -> None:
    start = 1_700_000_000
    blob = float24_rollup_blob(60, [(0, 1.0, 2.5, 3.0), (59, 0.125, 0.3333, 7.75)])
    decoded = codec.decode_rollup(start, 60, 60, blob)
    assert [bucket[:2] for bucket in decoded] == [(start, 6), (start + 59 * 60, 6)]
    assert decoded[1][2:] == pytest.approx((0.125, 0.3333, 7.75), rel=3.1e-5)


def test_rollup_blob_has_format_byte() -> None:
    blob = codec.encode_rollup(0, 60, 60, [(0, 6, 1.0, 2.0, 3.0)])
    assert blob[0] == codec.ROLLUP_FORMAT
    with pytest.raises(CorruptBlockError, match="cannot be decompressed"):
        codec.decode_rollup(0, 60, 60, blob[:1] + b"garbage")
