"""Photos as bytes, for every service that takes them (inspection's evidence at the stall, a
citizen's complaint): what an upload may be, judged by its content, never by its name, and how a
photo is cleaned of what it says beside the picture.

- `sniff`: JPEG, PNG or WebP by the magic bytes (a PNG called `x.jpg` is a PNG; a text file
  called `x.jpg` is refused).
- `check_size` (413 over the cap) and `image_type` (422: empty, or not one of the three), each
  an error naming the form field `file`, so that a service orders its own rules between them.
- `strip_metadata`: the picture without its EXIF, XMP, IPTC and text (a phone writes where it
  was taken into EXIF: a citizen's photo of a stall taken at home must not say where home is).
  By hand, segment by segment (no image library: nothing is decoded or re-encoded, so the
  pixels and the file's quality stay as sent). A JPEG keeps its EXIF orientation alone, in a
  minimal EXIF of its own, so that a phone's upright photo still shows upright.

Pure: no I/O. The HTTP side (reading the multipart field, the byte answer) is in
`services/runtime/photo_uploads.py`.
"""

from __future__ import annotations

import struct
from typing import Final

from services.runtime.failures import InvalidInput, TooLarge

PHOTO_TYPES: Final = ("image/jpeg", "image/png", "image/webp")
DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
FIELD: Final = "file"


class PhotoTooLarge(TooLarge):
    """The upload is over the size cap, naming the field."""

    def __init__(self, max_bytes: int) -> None:
        reason = f"a photo is at most {max_bytes} bytes ({max_bytes / 1024 / 1024:g} MB)"
        super().__init__(f"{FIELD}: {reason}", field=FIELD, reason=reason)


def sniff(data: bytes) -> str | None:
    """The image type the bytes are, by their signature; None if not JPEG, PNG or WebP."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_size(data: bytes, max_bytes: int) -> None:
    """PhotoTooLarge (413, naming `file`) when `data` is over `max_bytes`."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(max_bytes)


def image_type(data: bytes) -> str:
    """The type `data` is (one of PHOTO_TYPES); InvalidInput naming `file` when it is empty or
    not a JPEG, PNG or WebP image."""
    if not data:
        raise InvalidInput(FIELD, "the file is empty")
    content_type = sniff(data)
    if content_type is None:
        raise InvalidInput(
            FIELD, "not a JPEG, PNG or WebP image (judged by its content, not by its name)"
        )
    return content_type


# -- metadata -------------------------------------------------------------------------------------


def _damaged(kind: str) -> InvalidInput:
    return InvalidInput(FIELD, f"a damaged {kind} image: its structure cannot be read")


def strip_metadata(data: bytes) -> bytes:
    """`data` (a JPEG, PNG or WebP, as `image_type` told) without its metadata: JPEG APP1 (EXIF,
    XMP), APP13 (IPTC) and the other application segments but JFIF, ICC colour and Adobe's
    colour transform, and comments; PNG eXIf, tEXt, iTXt, zTXt and tIME chunks; WebP EXIF and
    XMP chunks (and their flags). InvalidInput naming `file` when its structure is broken."""
    kind = sniff(data)
    if kind == "image/jpeg":
        return _jpeg(data)
    if kind == "image/png":
        return _png(data)
    if kind == "image/webp":
        return _webp(data)
    raise InvalidInput(FIELD, "not a JPEG, PNG or WebP image")


# JPEG application segments kept: APP0 (JFIF), APP2 (ICC colour profile), APP14 (Adobe: how the
# colours are stored; without it some JPEGs show wrong colours). Every other APPn and COM goes.
_JPEG_KEEP: Final = frozenset({0xE0, 0xE2, 0xEE})
_SOS, _EOI, _APP1, _COM = 0xDA, 0xD9, 0xE1, 0xFE
# Markers with no length after them: TEM and the restart markers.
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})


def _jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])
    orientation: int | None = None
    i = 2
    while True:
        if i >= len(data) or data[i] != 0xFF:
            raise _damaged("JPEG")
        while i < len(data) and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= len(data):
            raise _damaged("JPEG")
        marker = data[i]
        i += 1
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if marker in _STANDALONE:
            out += bytes((0xFF, marker))
            continue
        if i + 2 > len(data):
            raise _damaged("JPEG")
        (length,) = struct.unpack(">H", data[i : i + 2])
        end = i + length
        if length < 2 or end > len(data):
            raise _damaged("JPEG")
        if marker == _SOS:
            # The scan and everything after it is picture data: kept as sent.
            if orientation is not None:
                at = _after_jfif(out)
                out[at:at] = _exif_orientation(orientation)
            out += bytes((0xFF, marker)) + data[i:]
            return bytes(out)
        if marker == _APP1 and orientation is None:
            orientation = _orientation(data[i + 2 : end])
        if (0xE0 <= marker <= 0xEF and marker not in _JPEG_KEEP) or marker == _COM:
            i = end
            continue
        out += bytes((0xFF, marker)) + data[i:end]
        i = end


def _after_jfif(out: bytearray) -> int:
    """Where an EXIF segment goes: after the JFIF segment when the file opens with one (JFIF
    wants it first), else right after the start of image."""
    if out[2:4] == b"\xff\xe0":
        return 4 + int.from_bytes(out[4:6], "big")
    return 2


def _orientation(app1: bytes) -> int | None:
    """The EXIF orientation (2-8) an APP1 segment's TIFF IFD0 holds; None when it holds none,
    the upright 1, or it is not EXIF (XMP) or cannot be read."""
    if not app1.startswith(b"Exif\x00\x00"):
        return None
    tiff = app1[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for n in range(count):
        at = ifd + 2 + 12 * n
        if at + 12 > len(tiff):
            return None
        tag, kind, _, value = struct.unpack(order + "HHIH", tiff[at : at + 10])
        if tag == 0x0112 and kind == 3:
            return value if 2 <= value <= 8 else None
    return None


def _exif_orientation(value: int) -> bytes:
    """An APP1 segment holding an EXIF with the orientation tag and nothing else."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    tiff += struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, value, 0)
    tiff += struct.pack(">I", 0)  # no next IFD
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


_PNG_DROP: Final = frozenset({b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"})


def _png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    i = 8
    while i < len(data):
        if i + 8 > len(data):
            raise _damaged("PNG")
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        end = i + 12 + length  # length, type, data, CRC
        if end > len(data):
            raise _damaged("PNG")
        if kind not in _PNG_DROP:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            return bytes(out)
    raise _damaged("PNG")


_WEBP_DROP: Final = frozenset({b"EXIF", b"XMP "})
# VP8X's flags: the file has an EXIF chunk (bit 3), an XMP chunk (bit 2).
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _webp(data: bytes) -> bytes:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data):
        raise _damaged("WebP")
    chunks = bytearray()
    i, stop = 12, riff_size + 8
    while i < stop:
        if i + 8 > stop:
            raise _damaged("WebP")
        kind = data[i : i + 4]
        (size,) = struct.unpack("<I", data[i + 4 : i + 8])
        end = i + 8 + size + (size & 1)  # chunks are padded to an even length
        if end > stop:
            raise _damaged("WebP")
        if kind == b"VP8X" and size >= 1:
            chunk = bytearray(data[i:end])
            chunk[8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
            chunks += chunk
        elif kind not in _WEBP_DROP:
            chunks += data[i:end]
        i = end
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)
