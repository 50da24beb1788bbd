"""A file of named numpy arrays behind a JSON header: non-executable, checksummed, memory-mapped.

Layout: 8 magic bytes, the header's length (little-endian u64), the header (UTF-8 JSON), zero
padding to :data:`ALIGN`, then the data region, every array starting at a multiple of
:data:`ALIGN`. The header names each array's dtype, shape and offset, holds the caller's ``meta``
(JSON values) and the CRC-32 and size of the data region.

Reading never runs code from the file: no pickle, only plain numeric dtypes, every offset checked
against the file's size, and the data region's CRC-32 checked before any array is returned. A file
that fails a check raises :class:`ArrayFileCorrupt`; one that cannot be opened raises ``OSError``.
Arrays are read-only views of one ``mmap`` of the file: pages are loaded on demand and shared
between processes, and a file replaced on disk (written elsewhere, then renamed over it) leaves an
open mapping intact.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"MLTARR\x00\x01"
ALIGN = 64
"""Every array starts at a multiple of this (cache-line and SIMD aligned, like numpy's own)."""
MAX_HEADER_BYTES = 1 << 20
"""A longer header is not one we wrote."""
_DTYPE_KINDS = frozenset("biuf")
"""Booleans, signed and unsigned integers, floats: nothing that can hold an object."""


class ArrayFileCorrupt(ValueError):
    """The file is not a complete, intact array file; ``reason`` says which check failed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _bytes(a: npt.NDArray[Any]) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return a.reshape(-1).view(np.uint8).data


def write_array_file(
    path: Path, arrays: Mapping[str, npt.NDArray[Any]], meta: Mapping[str, Any]
) -> None:
    """Write ``arrays`` and ``meta`` to ``path`` atomically (a temporary file renamed over it)."""
    table: dict[str, Any] = {}
    parts: list[tuple[int, npt.NDArray[Any]]] = []
    offset = 0
    for name, array in arrays.items():
        a = np.asarray(array)
        if a.dtype.kind not in _DTYPE_KINDS or a.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype {a.dtype}, not a plain numeric type")
        a = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)  # keeps a 0-d shape
        pad = _aligned(offset) - offset
        offset += pad
        table[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        parts.append((pad, a))
        offset += a.nbytes
    crc = 0
    for pad, a in parts:  # one pass for the checksum, one to write: no copy of the data
        crc = zlib.crc32(_bytes(a), zlib.crc32(b"\0" * pad, crc))
    header = json.dumps(
        {"arrays": table, "meta": dict(meta), "data_size": offset, "crc32": crc},
        ensure_ascii=True,
        allow_nan=False,
    ).encode("ascii")
    head = MAGIC + struct.pack("<Q", len(header)) + header
    head += b"\0" * (_aligned(len(head)) - len(head))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            for pad, a in parts:
                f.write(b"\0" * pad)
                f.write(_bytes(a))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _header(path: Path, start: bytes, read: Any) -> tuple[dict[str, Any], int]:
    """The parsed header and where the data region starts."""
    if len(start) < len(MAGIC) + 8 or not start.startswith(MAGIC):
        raise ArrayFileCorrupt(path, "not an array file (wrong magic bytes or truncated)")
    (length,) = struct.unpack("<Q", start[len(MAGIC) :])
    if length > MAX_HEADER_BYTES:
        raise ArrayFileCorrupt(path, f"header length {length} is implausible")
    raw = read(length)
    if len(raw) != length:
        raise ArrayFileCorrupt(path, "truncated header")
    try:
        header = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArrayFileCorrupt(path, f"the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ArrayFileCorrupt(path, "the header is not a JSON object")
    return header, _aligned(len(MAGIC) + 8 + length)


def read_array_file(path: Path) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """The arrays (read-only views of a mapping of the file) and the meta, after every check."""
    with open(path, "rb") as f:
        try:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            raise ArrayFileCorrupt(path, "the file is empty") from None
    view = memoryview(mapped)
    pos = len(MAGIC) + 8

    def read(n: int) -> bytes:
        return bytes(view[pos : pos + n])

    header, data_start = _header(path, bytes(view[:pos]), read)
    size, crc, table, meta = (header.get(k) for k in ("data_size", "crc32", "arrays", "meta"))
    if not (isinstance(size, int) and isinstance(crc, int) and isinstance(table, dict)):
        raise ArrayFileCorrupt(path, "the header lacks data_size, crc32 or arrays")
    if not isinstance(meta, dict):
        raise ArrayFileCorrupt(path, "the header has no meta object")
    if data_start + size != len(mapped):
        raise ArrayFileCorrupt(
            path, f"the file has {len(mapped)} bytes, its header says {data_start + size}"
        )
    if zlib.crc32(view[data_start:]) != crc:
        raise ArrayFileCorrupt(path, "the data does not match its CRC-32 (damaged on disk)")
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, spec in table.items():
        arrays[name] = _array(path, mapped, name, spec, data_start, size)
    view.release()
    return arrays, meta


def _array(
    path: Path, mapped: mmap.mmap, name: str, spec: Any, data_start: int, size: int
) -> npt.NDArray[Any]:
    try:
        dtype = np.dtype(str(spec["dtype"]))
        shape = tuple(int(n) for n in spec["shape"])
        offset = int(spec["offset"])
    except (KeyError, TypeError, ValueError):
        raise ArrayFileCorrupt(path, f"array {name!r} has a malformed entry") from None
    if dtype.kind not in _DTYPE_KINDS or dtype.hasobject or dtype.byteorder == ">":
        raise ArrayFileCorrupt(path, f"array {name!r} has dtype {dtype}, not a numeric one")
    count = int(np.prod(shape, dtype=np.int64))
    if min(shape, default=0) < 0 or offset < 0 or offset + count * dtype.itemsize > size:
        raise ArrayFileCorrupt(path, f"array {name!r} lies outside the data region")
    flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=data_start + offset)
    return flat.reshape(shape)


__all__ = [
    "ArrayFileCorrupt",
    "read_array_file",
    "write_array_file",
]
