"""``multipart/form-data`` bodies, encoded by the HTTP library (urllib3)."""

from __future__ import annotations

from collections.abc import Mapping

from urllib3 import encode_multipart_formdata

__all__ = ["FormValue", "encode_multipart"]

#: A form field: a value, ``(filename, data)`` or ``(filename, data, content_type)``.
FormValue = str | bytes | tuple[str, str | bytes] | tuple[str, str | bytes, str]


def encode_multipart(fields: Mapping[str, FormValue]) -> tuple[bytes, str]:
    """The body and its ``Content-Type`` (with the boundary) for ``fields``."""
    return encode_multipart_formdata(dict(fields))
