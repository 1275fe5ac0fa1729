"""Small real images built byte by byte, with the metadata a phone writes (EXIF with a GPS
position, XMP, text), for the tests of photo uploads and of their cleaning."""

from __future__ import annotations

import struct
import zlib

# Where the photo was taken, as an EXIF GPS IFD would hold it, and a text a tool would write:
# strings a cleaned photo must not contain.
GPS_MARK = b"GPS 37.5330N 121.3880E home"
XMP_MARK = b"<x:xmpmeta><exif:GPSLatitude>37,31.98N</exif:GPSLatitude></x:xmpmeta>"
TEXT_MARK = b"Author\x00Zhang San, Zhifu district"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A decodable PNG of one colour, with eXIf, tEXt, iTXt, zTXt and tIME chunks."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + png_chunk(b"eXIf", b"MM\x00\x2a\x00\x00\x00\x08" + GPS_MARK)
        + png_chunk(b"tEXt", TEXT_MARK)
        + png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP_MARK)
        + png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(GPS_MARK))
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"tIME", b"\x07\xea\x0c\x06\x08\x00\x00")
        + png_chunk(b"IEND", b"")
    )


def plain_png(width: int = 8, height: int = 8) -> bytes:
    """The same picture with no metadata at all: what a cleaned `png()` must equal."""
    rows = b"".join(b"\x00" + bytes((200, 30, 30)) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def exif(orientation: int | None) -> bytes:
    """An APP1 EXIF body (big-endian TIFF): IFD0 with the orientation (when given) and a GPS
    pointer, then the GPS text."""
    entries = []
    if orientation is not None:
        entries.append(struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0))
    entries.append(struct.pack(">HHII", 0x8825, 4, 1, 8 + 2 + 12 * 2 + 4))
    ifd = struct.pack(">H", len(entries)) + b"".join(entries) + struct.pack(">I", 0)
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd + GPS_MARK


# A JPEG's picture data as the encoder leaves it: tables, frame, scan. Not decoded by the tests
# of cleaning, which check it passes through byte for byte.
JPEG_TABLES = _segment(0xDB, b"\x00" + bytes(range(64))) + _segment(
    0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"
)
JPEG_SCAN = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34\xff\x00\x56\xff\xd0\x78"


def jpeg(orientation: int | None = 6) -> bytes:
    """A JPEG as a phone writes it: JFIF, EXIF with the orientation and a GPS position, XMP,
    IPTC (APP13), a comment, an ICC profile, then the picture."""
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xE1, exif(orientation))
        + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP_MARK)
        + _segment(0xED, b"Photoshop 3.0\x008BIM" + TEXT_MARK)
        + _segment(0xFE, TEXT_MARK)
        + _segment(0xE2, b"ICC_PROFILE\x00\x01\x01colour")
        + JPEG_TABLES
        + JPEG_SCAN
        + b"\xff\xd9"
    )


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def webp() -> bytes:
    """An extended WebP: VP8X saying EXIF and XMP are there, the picture, EXIF and XMP chunks."""
    vp8x = bytes((0x08 | 0x04 | 0x10, 0, 0, 0)) + b"\x07\x00\x00\x07\x00\x00"
    body = (
        b"WEBP"
        + _riff_chunk(b"VP8X", vp8x)
        + _riff_chunk(b"VP8L", b"\x2f\x07\xc0\x01\x10picture")
        + _riff_chunk(b"EXIF", b"MM\x00\x2a" + GPS_MARK)
        + _riff_chunk(b"XMP ", XMP_MARK)
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body
