"""Media that is not on the API's disk (S3), streamed to the player with HTTP Range.

Why stream through the API rather than redirect to a presigned URL: the bucket is
usually reachable only inside the deployment (``http://minio:9000`` in compose), and
a URL signed for that host is useless to a newsroom browser; streaming also keeps the
player on one origin (no CORS for the waveform fetch) and access behind the API. Each
Range request costs one ranged GET on the bucket, never a whole download.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from fastapi import Response
from fastapi.responses import StreamingResponse

__all__ = ["MEDIA_HEADERS", "ranged_media_response"]

# Uploaded bytes on efir's own origin: even opened as a page, they run no script and
# reach no cookie or API (an opaque origin), whatever they contain.
MEDIA_HEADERS = {"Content-Security-Policy": "sandbox"}

_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK_BYTES = 256 * 1024


def ranged_media_response(
    media: BinaryIO,
    *,
    media_type: str,
    range_header: str | None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The whole ``media`` (200) or the one byte range asked for (206), with ``headers``
    too; takes ownership of ``media`` and closes it when the response is sent."""
    size = media.seek(0, io.SEEK_END)
    headers = {**(headers or {}), "Accept-Ranges": "bytes"}
    try:
        byte_range = _requested_range(range_header, size)
    except _UnsatisfiableRangeError:
        media.close()
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if byte_range is None:
        start, end, status = 0, size - 1, 200
    else:
        start, end = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = end - start + 1
    headers["Content-Length"] = str(length)
    media.seek(start)
    return StreamingResponse(
        _chunks(media, length), status_code=status, media_type=media_type, headers=headers
    )


class _UnsatisfiableRangeError(Exception):
    """The range starts past the end of the media: answered with 416."""


def _requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive, or None to send everything.

    Multiple ranges are answered with the whole body, as RFC 9110 allows; players ask
    for one range at a time.
    """
    match = _SINGLE_RANGE.match(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise _UnsatisfiableRangeError
    return start, end


def _chunks(media: BinaryIO, length: int) -> Iterator[bytes]:
    try:
        remaining = length
        while remaining > 0:
            chunk = media.read(min(_CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        media.close()
