"""A large attachment over HTTP: the request and the response bodies are streamed, so
``put_attachment(file)`` and ``get_attachment(write_to=f)`` stay within a few MiB of
RSS in the client process (measured in a fresh subprocess; memory, never time, is
asserted). Against every real HTTP server of the run.

32 MiB, not 100: PouchDB Server keeps attachments in its own memory and takes
minutes over 100 MB. Still well above the bound, so reading the content whole
(32 MiB, and its copies) would fail the test.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

from tests.conftest import Server
from tests.unit.test_attachment_memory import BOUND_MIB, round_trip


def test_http_attachment_of_100_mb_in_bounded_memory(http_server: Server, tmp_path: Path) -> None:
    parts = urlsplit(http_server.url)
    creds = f"{quote(http_server.user, safe='')}:{quote(http_server.password, safe='')}"
    url = f"{parts.scheme}://{creds}@{parts.netloc}{parts.path}"
    measured = round_trip(url, tmp_path, 32 * 1024 * 1024)
    base = float(measured["base"])  # type: ignore[arg-type]
    assert float(measured["put"]) - base < BOUND_MIB, measured  # type: ignore[arg-type]
    assert float(measured["get"]) - base < BOUND_MIB, measured  # type: ignore[arg-type]
