"""Append items to a ``.npy`` file whose length is not known in advance, in constant memory.

The header (which holds the shape) is reserved at the start and written last; the file follows the public
``.npy`` format 1.0 (magic, version, little-endian uint16 header length, a dict literal padded with spaces
and a newline so the data starts 64-byte aligned), so ``np.load(mmap_mode="r")`` reads it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_ALIGN = 64
_MAX_ITEMS = 10**12  # the reserved header fits any item count below this


def _header(dtype: np.dtype, shape: tuple[int, ...]) -> str:
    descr = np.lib.format.dtype_to_descr(dtype)
    return f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"


def _header_bytes(dtype: np.dtype, shape: tuple[int, ...], total: int) -> bytes:
    """Magic + length + dict padded so that the header is exactly ``total`` bytes."""
    prefix = np.lib.format.magic(1, 0)
    text = _header(dtype, shape)
    pad = total - len(prefix) - 2 - len(text) - 1
    if pad < 0:
        raise ValueError(f"npy header for shape {shape} does not fit {total} bytes")
    body = (text + " " * pad + "\n").encode("latin1")
    return prefix + len(body).to_bytes(2, "little") + body


class NpyAppender:
    """Write (N, *item_shape) items of one dtype to ``path`` one by one; :meth:`close` finalises the header."""

    def __init__(self, path: Path, dtype: np.dtype, item_shape: tuple[int, ...]) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.item_shape = tuple(item_shape)
        self.count = 0
        worst = len(_header(self.dtype, (_MAX_ITEMS, *self.item_shape))) + 12
        self._header_len = -(-worst // _ALIGN) * _ALIGN
        self._f = open(self.path, "wb")
        self._f.write(b"\0" * self._header_len)

    def append(self, item: np.ndarray) -> None:
        a = np.asarray(item, dtype=self.dtype)
        if a.shape != self.item_shape:
            raise ValueError(f"{self.path.name}: item shape {a.shape}, expected {self.item_shape}")
        self._f.write(np.ascontiguousarray(a).tobytes())
        self.count += 1

    def close(self) -> None:
        """Write the header for the final count and fsync the file."""
        if self._f.closed:
            return
        self._f.seek(0)
        self._f.write(_header_bytes(self.dtype, (self.count, *self.item_shape), self._header_len))
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()

    def discard(self) -> None:
        self._f.close()
