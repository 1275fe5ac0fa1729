"""The HTTP side of photos (services/runtime/photos.py), one way for every service: the bytes of
a multipart upload's field `file`, read no further than a photo of the cap may take, and a
stored photo's bytes as an answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Final

from fastapi import Request, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from services.runtime.failures import InvalidInput
from services.runtime.photos import FIELD, PHOTO_TYPES, PhotoTooLarge

# Room for the multipart envelope (boundaries, part headers) around a photo of the largest size.
MULTIPART_OVERHEAD: Final = 64 * 1024


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """The bytes of the form field `file`, reading no more of the request than a photo of
    `max_bytes` may take (413 beyond, before the whole of it has arrived)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(FIELD, "send the photo as multipart/form-data, in the field file")
    limit = max_bytes + MULTIPART_OVERHEAD
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PhotoTooLarge(max_bytes)

    async def body() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise PhotoTooLarge(max_bytes)
            yield chunk

    parser = MultiPartParser(request.headers, body(), max_files=1, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(FIELD, f"not a readable multipart form: {exc.message}") from None
    try:
        upload = form.get(FIELD)
        if not isinstance(upload, UploadFile):
            raise InvalidInput(FIELD, "required: the photo, as the form field file")
        return await upload.read()
    finally:
        await form.close()


# The upload's body as OpenAPI shows it (the route reads the stream itself, bounded).
PHOTO_FORM: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {FIELD: {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
PHOTO_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {t: {} for t in PHOTO_TYPES}}
}


def photo_response(photo_id: str, content_type: str, data: bytes) -> Response:
    """The photo's bytes, with the type its content was recognised as; private to the person
    who asked (staff only), never sniffed into another type by the browser."""
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": f'inline; filename="{photo_id}"',
        },
    )
