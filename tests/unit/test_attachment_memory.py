"""A 100 MB attachment through ``put_attachment(file)`` and ``get_attachment(write_to=f)``
stays within a few MiB of RSS on the embedded SQLite backend.

Memory is measured in a fresh subprocess (peak RSS, ``ru_maxrss``, after the
setup and after the round trip); the bound is on memory, never on time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is KiB on Linux")

SIZE = 100 * 1024 * 1024
#: Peak RSS growth allowed for the whole round trip (the content is 100 MiB).
BOUND_MIB = 24

ROUND_TRIP = textwrap.dedent(
    """
    import json, resource, sys, uuid
    import settee

    url, source, target = sys.argv[1:4]

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    client = settee.connect(url, timeout=600)  # a server may take long over 100 MB
    db = client.create_database("big-attachments-" + uuid.uuid4().hex)
    doc = db.create_document({"_id": "big"})
    with open(source, "rb") as f:  # warm every code path on a small file first
        doc.put_attachment("small.bin", "application/octet-stream", f.read(1024))
    with open(target, "wb") as f:
        doc.get_attachment("small.bin", write_to=f)
    base = peak()
    with open(source, "rb") as f:
        doc.put_attachment("big.bin", "application/octet-stream", f)
    after_put = peak()
    with open(target, "wb") as f:
        returned = doc.get_attachment("big.bin", write_to=f)
    stub = doc["_attachments"]["big.bin"]
    client.delete_database(db.database_name)
    print(json.dumps({"base": base, "put": after_put, "get": peak(),
                      "returned": returned, "length": stub["length"], "digest": stub["digest"]}))
    """
)


def make_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes; its md5 digest in CouchDB's form."""
    md5 = hashlib.md5()
    with path.open("wb") as f:
        for _ in range(size // (1 << 20)):
            chunk = os.urandom(1 << 20)
            md5.update(chunk)
            f.write(chunk)
    return "md5-" + base64.b64encode(md5.digest()).decode()


def file_md5(path: Path) -> str:
    md5 = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
    return "md5-" + base64.b64encode(md5.digest()).decode()


def round_trip(url: str, tmp_path: Path, size: int = SIZE) -> dict[str, object]:
    """Run the round trip of ``size`` bytes in a subprocess; check the copy; return its
    measurements."""
    source, target = tmp_path / "source.bin", tmp_path / "copy.bin"
    digest = make_file(source, size)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "src"), *sys.path])
    proc = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, url, str(source), str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    measured: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert measured["returned"] is None  # streamed into the file, not returned
    assert measured["length"] == size and measured["digest"] == digest
    assert target.stat().st_size == size and file_md5(target) == digest
    return measured


def test_sqlite_attachment_of_100_mb_in_bounded_memory(tmp_path: Path) -> None:
    measured = round_trip(f"sqlite:///{tmp_path}/store.db", tmp_path)
    base = float(measured["base"])  # type: ignore[arg-type]
    assert float(measured["put"]) - base < BOUND_MIB, measured  # type: ignore[arg-type]
    assert float(measured["get"]) - base < BOUND_MIB, measured  # type: ignore[arg-type]
