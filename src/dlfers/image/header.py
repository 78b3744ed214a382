"""Image dimensions from file headers, read before any pixel is decoded.

Enough of PNG, JPEG, TIFF, BMP, PNM and WebP to refuse a "decompression bomb"
before OpenCV allocates it.  Returns None when the format is not recognised or the
header is damaged; the decoder then has the last word.
"""

from __future__ import annotations

import struct


def image_format(data: bytes) -> str | None:
    """Name of the image format whose signature starts ``data``, or None.

    Parameters
    ----------
    data : bytes
        The first bytes of a file.

    Returns
    -------
    str or None
        The format name.
    """
    sigs = (
        (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8", "JPEG"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
        (b"BM", "BMP"), (b"GIF8", "GIF"),
    )
    for sig, name in sigs:
        if data.startswith(sig):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:1] == b"P" and data[1:2] in b"123456" and len(data) > 2 and data[2:3].isspace():
        return "PNM"
    return None


def jpeg_truncated(data: bytes) -> bool:
    """Whether JPEG ``data`` ends before its end-of-image marker (FF D9) after the last scan (FF DA).

    OpenCV decodes such a file without an error, the missing rows grey: a cut download or copy.
    Inside the entropy-coded data an FF byte is always followed by 00 or a restart marker, so
    FF D9 after the last start-of-scan is the end of the image (bytes after it are ignored).

    Parameters
    ----------
    data : bytes
        The file's bytes.

    Returns
    -------
    bool
    """
    sos = data.rfind(b"\xff\xda")
    return sos >= 0 and data.find(b"\xff\xd9", sos + 2) < 0


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of an encoded image, or None.

    Parameters
    ----------
    data : bytes
        The first bytes of a file.

    Returns
    -------
    (int, int) or None
        (width, height).
    """
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return w, h
        if data[:2] == b"\xff\xd8":
            return _jpeg(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff(data)
        if data[:2] == b"BM" and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:1] == b"P" and data[1:2] in b"123456":
            parts = data[2:64].split()
            if len(parts) >= 2:
                return int(parts[0]), int(parts[1])
    except (struct.error, ValueError, IndexError):
        return None
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (seglen,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + seglen
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    e = "<" if data[:2] == b"II" else ">"
    (off,) = struct.unpack(e + "I", data[4:8])
    (count,) = struct.unpack(e + "H", data[off : off + 2])
    w = h = None
    for k in range(count):
        ent = data[off + 2 + 12 * k : off + 14 + 12 * k]
        tag, typ = struct.unpack(e + "HH", ent[:4])
        if tag in (256, 257):
            val = struct.unpack(e + ("H" if typ == 3 else "I"), ent[8:10] if typ == 3 else ent[8:12])[0]
            if tag == 256:
                w = val
            else:
                h = val
    return (w, h) if w is not None and h is not None else None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = data[21:25]
        bits = int.from_bytes(b, "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None
