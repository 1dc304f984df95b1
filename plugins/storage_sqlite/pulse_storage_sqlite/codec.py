"""Binary layouts of the blobs in the ``blocks`` and ``journal`` tables.

Values are stored as the three high bytes of an IEEE float32 (sign, exponent
and 15 mantissa bits), so a stored value is within 0.003 % of the written one.
Every array is split into byte planes before zlib: the exponent bytes of a
series of similar values are nearly identical, and planes make that visible
to the compressor. A steady series compresses to a few dozen bytes per block.

A rollup bucket is ``(ts, count, min, avg, max)``; a raw sample is read back as
a bucket of count 1 with ``min == avg == max``.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Sequence

from pulse_storage_sqlite.errors import CorruptBlockError

Bucket = tuple[int, int, float, float, float]

_RAW_FORMAT = 1
_ROLLUP_FORMAT = 2
_JOURNAL_FORMAT = 3
_BIG_ENDIAN = sys.byteorder == "big"
_MAX_COUNT = 0xFFFF


def _little(values: array) -> bytes:
    if _BIG_ENDIAN:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_little(typecode: str, data: bytes) -> array:
    values = array(typecode)
    values.frombytes(data)
    if _BIG_ENDIAN:
        values.byteswap()
    return values


def _planes(data: bytes, width: int, skip: int = 0) -> bytes:
    """Split ``data`` into byte planes of ``width``-byte items, dropping the lowest ``skip`` bytes."""
    return b"".join(data[i::width] for i in range(skip, width))


def _unplanes(data: bytes, count: int, width: int, skip: int = 0) -> bytes:
    out = bytearray(count * width)
    for plane, i in enumerate(range(skip, width)):
        out[i::width] = data[plane * count:(plane + 1) * count]
    return bytes(out)


def pack_floats(values: Sequence[float]) -> bytes:
    """Return ``values`` as float32 high-byte planes (3 bytes per value)."""
    return _planes(_little(array("f", values)), 4, skip=1)


def unpack_floats(data: bytes, count: int) -> array:
    return _from_little("f", _unplanes(data, count, 4, skip=1))


def _pack_ints(typecode: str, values: Sequence[int]) -> bytes:
    packed = array(typecode, values)
    return _planes(_little(packed), packed.itemsize)


def _unpack_ints(typecode: str, data: bytes, count: int) -> array:
    width = array(typecode).itemsize
    return _from_little(typecode, _unplanes(data, count, width))


def _check(blob: bytes, expected_format: int, what: str) -> bytes:
    try:
        data = zlib.decompress(blob)
    except zlib.error as exc:
        raise CorruptBlockError(f"{what} blob cannot be decompressed: {exc}") from exc
    if not data or data[0] != expected_format:
        raise CorruptBlockError(f"{what} blob has format {data[:1].hex() or 'none'}, expected {expected_format}")
    return data[1:]


# --- raw blocks ------------------------------------------------------------------------------


def encode_raw(start: int, timestamps: Sequence[int], values: Sequence[float]) -> bytes:
    """Encode raw samples with timestamps in ``[start, start + 65535]``."""
    offsets = [ts - start for ts in timestamps]
    body = _pack_ints("H", offsets) + pack_floats(values)
    return zlib.compress(bytes((_RAW_FORMAT,)) + body, 6)


def decode_raw(start: int, blob: bytes) -> list[Bucket]:
    data = _check(blob, _RAW_FORMAT, "raw block")
    count, remainder = divmod(len(data), 5)
    if remainder:
        raise CorruptBlockError(f"raw block blob has {len(data)} bytes, not a multiple of 5")
    offsets = _unpack_ints("H", data[: 2 * count], count)
    values = unpack_floats(data[2 * count:], count)
    return [(start + offset, 1, value, value, value) for offset, value in zip(offsets, values)]


# --- rollup blocks ---------------------------------------------------------------------------


def encode_rollup(start: int, bucket: int, size: int, buckets: Sequence[Bucket]) -> bytes:
    """Encode up to ``size`` buckets of width ``bucket`` starting at ``start``; absent buckets get count 0."""
    counts = array("H", bytes(2 * size))
    # One float array: all minimums, then all averages, then all maximums.
    floats = array("f", bytes(12 * size))
    for ts, count, low, mean, high in buckets:
        slot = (ts - start) // bucket
        counts[slot] = min(count, _MAX_COUNT)
        floats[slot] = low
        floats[size + slot] = mean
        floats[2 * size + slot] = high
    body = _planes(_little(counts), 2) + _planes(_little(floats), 4, skip=1)
    return zlib.compress(bytes((_ROLLUP_FORMAT,)) + body, 6)


def decode_rollup(start: int, bucket: int, size: int, blob: bytes) -> list[Bucket]:
    data = _check(blob, _ROLLUP_FORMAT, "rollup block")
    if len(data) != 11 * size:
        raise CorruptBlockError(f"rollup block blob has {len(data)} bytes, expected {11 * size}")
    counts = _unpack_ints("H", data[: 2 * size], size)
    floats = unpack_floats(data[2 * size:], 3 * size)
    stamps = range(start, start + size * bucket, bucket)
    return [
        bucket_row
        for bucket_row in zip(stamps, counts, floats[:size], floats[size: 2 * size], floats[2 * size:])
        if bucket_row[1]
    ]


# --- journal batches -------------------------------------------------------------------------


def encode_batch(base: int, series_ids: Sequence[int], timestamps: Sequence[int], values: Sequence[float]) -> bytes:
    """Encode one write batch for the journal; timestamps are stored relative to ``base``."""
    body = (
        _pack_ints("I", series_ids)
        + _pack_ints("I", [ts - base for ts in timestamps])
        + pack_floats(values)
    )
    return zlib.compress(bytes((_JOURNAL_FORMAT,)) + body, 1)


def decode_batch(base: int, blob: bytes) -> tuple[array, list[int], array]:
    data = _check(blob, _JOURNAL_FORMAT, "journal")
    count, remainder = divmod(len(data), 11)
    if remainder:
        raise CorruptBlockError(f"journal blob has {len(data)} bytes, not a multiple of 11")
    series_ids = _unpack_ints("I", data[: 4 * count], count)
    offsets = _unpack_ints("I", data[4 * count: 8 * count], count)
    values = unpack_floats(data[8 * count:], count)
    return series_ids, [base + offset for offset in offsets], values
