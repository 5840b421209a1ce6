"""Hostile inputs for the reliability tests and the load bench."""

from __future__ import annotations

import zlib
from struct import pack


def png16_rgba(side: int) -> bytes:
    """A 16-bit RGBA PNG of zeros: a few hundred kB declaring ``side``² pixels (a decompression bomb)."""
    def chunk(kind, data):
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    z, row = zlib.compressobj(9), b"\x00" * (1 + side * 8)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
