"""Binary layouts of the blobs in the ``blocks`` and ``journal`` tables.

Precision. Raw samples and journal values are stored as the three high bytes
of an IEEE float32 (sign, exponent and 15 mantissa bits, truncated), so a
stored sample is within 0.003 % of the written one. Rollup values (min, average
and max) are rounded to 10 mantissa bits, so each is within 0.05 % (2**-11) of
the value it was computed from. Zero and integers up to 2,048 are exact, and a
bucket's sample count is an exact integer up to 65,535. The 15-minute and
1-hour averages are computed from the stored finer buckets, so their errors
add up: at most 0.1 % and 0.15 % of the true average of non-negative
samples. Minimums and maximums do not accumulate error, because rounding
a rounded value returns it unchanged. On a chart 1,000 pixels tall, 0.15 % is
a pixel and a half.

Every array is split into byte planes before compression: the exponent bytes of
a series of similar values are nearly identical, and planes make that visible
to the compressor. A steady series compresses to a few dozen bytes per block.

A rollup bucket is ``(ts, count, min, avg, max)``; a raw sample is read back as
a bucket of count 1 with ``min == avg == max``.

Rollup blobs come in two formats. The current one starts with the format byte
``ROLLUP_FORMAT`` uncompressed, followed by raw deflate data without the zlib
header and checksum (6 bytes per row). The first format is a zlib stream
(first byte 0x78) of a float32-high-bytes body; rows written in it are still
read until retention deletes them.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Sequence

import numpy as np

from pulse_storage_sqlite.errors import CorruptBlockError

Bucket = tuple[int, int, float, float, float]

_RAW_FORMAT = 1
_FLOAT24_ROLLUP_FORMAT = 2
_JOURNAL_FORMAT = 3
ROLLUP_FORMAT = 4
# Float32 mantissa bits dropped from rollup values: 23 - 13 leaves 10.
ROLLUP_SHIFT = 13
_FLOAT32_INFINITY = 0x7F800000
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


def round_rollup_values(values: np.ndarray) -> np.ndarray:
    """Return the float32 bit patterns of ``values`` rounded to 10 mantissa bits and shifted right by 13.

    Rounding is to nearest on the magnitude, so the relative error is at most
    2**-11. A value whose rounding would overflow to infinity is truncated instead.
    """
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    sign = bits & np.uint32(0x80000000)
    magnitude = bits & np.uint32(0x7FFFFFFF)
    rounded = magnitude + np.uint32(1 << (ROLLUP_SHIFT - 1))
    rounded = np.where(rounded >= _FLOAT32_INFINITY, magnitude, rounded)
    return (sign | rounded) >> np.uint32(ROLLUP_SHIFT)


def rollup_values(codes: np.ndarray) -> np.ndarray:
    """Return the float32 values of codes made by ``round_rollup_values``."""
    return (codes.astype(np.uint32) << np.uint32(ROLLUP_SHIFT)).view(np.float32)


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
    codes = round_rollup_values(np.frombuffer(floats, dtype=np.float32))
    # Three byte planes of the 19-bit codes, lowest byte first.
    value_planes = codes.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3].T.tobytes()
    body = _planes(_little(counts), 2) + value_planes
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return bytes((ROLLUP_FORMAT,)) + compressor.compress(body) + compressor.flush()


def rollup_body(blob: bytes) -> tuple[int, bytes]:
    """Return the format and the decompressed body (counts, then value planes) of a rollup blob."""
    if blob[:1] == bytes((ROLLUP_FORMAT,)):
        try:
            return ROLLUP_FORMAT, zlib.decompress(blob[1:], -15)
        except zlib.error as exc:
            raise CorruptBlockError(f"rollup block blob cannot be decompressed: {exc}") from exc
    return _FLOAT24_ROLLUP_FORMAT, _check(blob, _FLOAT24_ROLLUP_FORMAT, "rollup block")


def decode_rollup(start: int, bucket: int, size: int, blob: bytes) -> list[Bucket]:
    """Decode a rollup blob of either format into its filled buckets."""
    found, data = rollup_body(blob)
    if len(data) != 11 * size:
        raise CorruptBlockError(f"rollup block blob has {len(data)} bytes, expected {11 * size}")
    counts = _unpack_ints("H", data[: 2 * size], size)
    if found == ROLLUP_FORMAT:
        planes = np.frombuffer(data, dtype=np.uint8, offset=2 * size).reshape(3, 3 * size).astype(np.uint32)
        floats = rollup_values(planes[0] | planes[1] << 8 | planes[2] << 16).tolist()
    else:
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
