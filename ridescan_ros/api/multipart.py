"""Streaming multipart reader: file parts go straight to staging files in the data dir.

Starlette's form parser spools files to the system temp dir and trusts the filename; here
each file part is written chunk by chunk to a generated path under ``<data>/tmp`` (memory stays
flat, /tmp is never filled), the raw filename bytes are kept for the service to judge, and
the size limits are enforced while reading: the request as a whole (413, early when
``Content-Length`` already says so) and each file (refused alone).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from ridescan_ros.api.errors import ApiError
from ridescan_ros.core.uploads import BlobDir
from ridescan_ros.service import ServiceError, StagedPart

MAX_FIELD_BYTES = 64 * 1024
FILE_FIELDS = ("files", "file", "files[]")


@dataclass
class UploadForm:
    """Text fields (every value, in order) and the staged file parts."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    parts: list[StagedPart] = field(default_factory=list)

    def first(self, *names: str) -> str | None:
        for n in names:
            vals = self.fields.get(n)
            if vals and vals[0].strip():
                return vals[0].strip()
        return None

    def discard(self) -> None:
        for p in self.parts:
            if p.staged is not None:
                p.staged.unlink(missing_ok=True)


def too_large(limit: int) -> ApiError:
    return ApiError("RS-REQ-413", "Upload too large",
                    f"the request body exceeds the {limit // (1 << 20)} MB limit", status=413)


async def read_upload(request: Request, blobs: BlobDir, max_request: int, max_file: int,
                      before_files: Callable[[UploadForm], None] | None = None) -> UploadForm:
    """Parse a multipart upload as it arrives.

    ``before_files`` sees the text fields received before the first file part (clients send
    ids first) and may refuse the request before any file byte is stored.

    Raises:
        ApiError: 413 over ``max_request`` bytes; 400 when the body is not multipart.
        ServiceError: whatever ``before_files`` raised.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_request:
        raise too_large(max_request)
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    boundary = opts.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ApiError("RS-VAL-001", "Upload must be multipart/form-data",
                       "send the files as multipart/form-data parts named 'files'")
    form = UploadForm()
    st = _State(form, blobs, max_file, before_files)
    parser = MultipartParser(boundary, st.callbacks())
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_request:
                raise too_large(max_request)
            parser.write(chunk)
            if st.error:
                raise st.error
        parser.finalize()
    except (ApiError, ServiceError):
        st.close()
        form.discard()
        raise
    except Exception as err:  # malformed multipart, client gone: nothing half-stored stays
        st.close()
        form.discard()
        raise ApiError("RS-VAL-001", "Malformed multipart body", str(err)[:200]) from None
    st.close()
    return form


class _State:
    """Callbacks of one parse: headers of the current part, its sink, its size."""

    def __init__(self, form: UploadForm, blobs: BlobDir, max_file: int,
                 before_files: Callable[[UploadForm], None] | None) -> None:
        self.form, self.blobs, self.max_file = form, blobs, max_file
        self.before_files = before_files
        self.headers: dict[bytes, bytes] = {}
        self.hname = b""
        self.hvalue = b""
        self.fname: str | None = None
        self.buf = bytearray()
        self.part: StagedPart | None = None
        self.sink: IO[bytes] | None = None
        self.error: ApiError | ServiceError | None = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin, "on_header_field": self.header_field,
            "on_header_value": self.header_value, "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished, "on_part_data": self.data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.headers, self.fname, self.part, self.buf = {}, None, None, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.hname += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.hvalue += data[start:end]

    def header_end(self) -> None:
        self.headers[self.hname.lower()] = self.hvalue
        self.hname, self.hvalue = b"", b""

    def headers_finished(self) -> None:
        disp, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        self.fname = name
        if b"filename" in opts or b"filename*" in opts or name in FILE_FIELDS:
            if self.before_files is not None:
                check, self.before_files = self.before_files, None
                try:
                    check(self.form)
                except ServiceError as err:
                    self.error = err
                    return
            raw = opts.get(b"filename*") or opts.get(b"filename")
            if raw is not None and raw.lower().startswith(b"utf-8''"):
                from urllib.parse import unquote_to_bytes

                raw = unquote_to_bytes(raw[7:])
            staged = self.blobs.staging_path()
            self.part = StagedPart(raw_name=raw, staged=staged)
            self.form.parts.append(self.part)
            self.sink = open(staged, "wb")

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        if self.part is None:
            self.buf += data[start:end]
            if len(self.buf) > MAX_FIELD_BYTES:
                self.error = ApiError("RS-VAL-001", f"Form field {self.fname!r} is too long",
                                      f"text fields are limited to {MAX_FIELD_BYTES} bytes")
            return
        n = end - start
        self.part.size += n
        if self.sink is None:
            return
        if self.part.size > self.max_file:
            self.part.error = f"file is larger than the {self.max_file // (1 << 20)} MB limit"
            self._drop()
            return
        try:
            self.sink.write(data[start:end])
        except OSError as err:
            self.part.error = ("disk full: the file was not stored" if err.errno == errno.ENOSPC
                               else f"could not store the file ({err.strerror})")
            self._drop()

    def part_end(self) -> None:
        if self.part is None:
            text = bytes(self.buf).decode("utf-8", "replace")
            self.form.fields.setdefault(self.fname or "", []).append(text)
            return
        if self.sink is not None:
            try:
                self.sink.close()
            except OSError as err:
                self.part.error = f"could not store the file ({err.strerror})"
                self._drop()
            self.sink = None
        self.part = None

    def _drop(self) -> None:
        if self.sink is not None:
            try:
                self.sink.close()
            except OSError:
                pass
            self.sink = None
        if self.part is not None and self.part.staged is not None:
            self.part.staged.unlink(missing_ok=True)
            self.part.staged = None

    def close(self) -> None:
        if self.sink is not None:
            try:
                self.sink.close()
            except OSError:
                pass
            self.sink = None
