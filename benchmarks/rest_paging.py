"""Benchmark: page 10,000 records from the django-rql service, settee vs connect-openapi-client.

Run from the repo root with settee's venv::

    .venv/bin/python benchmarks/rest_paging.py [--records 10000] [--limit 100] [--repeat 3]

What it does, all in one run:

1. makes (once) its own venv under /tmp with ``connect-openapi-client`` from PyPI
   (``--venv`` to choose where), so the baseline is CloudBlue's real client;
2. starts the test service (tests/servers/rql_service) on a free loopback port,
   seeded with ``--records`` products in a temporary SQLite file;
3. walks every product page by page (``limit``/``offset`` + Content-Range) in a
   fresh subprocess per client and per round — settee with constant memory,
   settee with ``resourceset_append=True`` (Connect's way), and Connect's
   ``ConnectClient`` with its defaults — and reports the best and median wall
   time, the ratio to Connect, the client's own CPU time (``process_time``:
   the wall time is mostly the server's), and each child's peak RSS
   (``ru_maxrss``) and its growth over the RSS before the walk.

Both clients talk to the same server in the same run, so the ratio compares
client overhead on equal terms; absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "ApiKey SU-000-000-000:s3cret"

_COMMON = r"""
import json, resource, sys, time
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
url, key, limit, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
"""

SETTEE_CHILD = (
    _COMMON
    + r"""
append = sys.argv[5] == "append"
from settee.rest import Client
client = Client(url, auth=key, default_limit=limit, resourceset_append=append)
before = rss_kb()
start = time.perf_counter()
cpu = time.process_time()
n = 0
for item in client.products.all():
    n += 1
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert n == expected, (n, expected)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "count": n,
                  "rss_before_kb": before, "peak_rss_kb": peak}))
"""
)

CONNECT_CHILD = (
    _COMMON
    + r"""
from connect.client import ConnectClient
client = ConnectClient(key, endpoint=url, use_specs=False, default_limit=limit, max_retries=0)
before = rss_kb()
start = time.perf_counter()
cpu = time.process_time()
n = 0
for item in client.products.all():
    n += 1
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert n == expected, (n, expected)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "count": n,
                  "rss_before_kb": before, "peak_rss_kb": peak}))
"""
)


def ensure_connect_venv(path: Path) -> Path:
    """The python of a venv at ``path`` with connect-openapi-client installed."""
    python = path / "bin" / "python"
    probe = [str(python), "-c", "import connect.client"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {path} with connect-openapi-client from PyPI ...", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "connect-openapi-client"], check=True
    )
    return python


def start_service(directory: Path, records: int) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.servers.rql_service.serve",
            "--db",
            str(directory / "bench.sqlite3"),
            "--seed",
            str(records),
            "--port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(directory / "service.log").open("wb"),
    )
    line: list[str] = []
    reader = threading.Thread(
        target=lambda: line.append(process.stdout.readline().decode()),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    reader.join(300)
    if not line or not line[0].startswith("READY "):
        process.kill()
        raise SystemExit(f"the service did not start: {line!r}")
    return process, f"http://127.0.0.1:{int(line[0].split()[1])}/public/v1"


def run_child(python: str, code: str, args: list[str]) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, env=env, timeout=1800
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=100, help="page size for both clients")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--venv", type=Path, default=Path("/tmp/settee-bench-venv"))
    args = parser.parse_args()

    connect_python = ensure_connect_venv(args.venv)
    version = subprocess.run(
        [str(connect_python), "-m", "pip", "show", "connect-openapi-client"],
        capture_output=True,
        text=True,
    ).stdout
    connect_version = next(
        (ln.split(":", 1)[1].strip() for ln in version.splitlines() if ln.startswith("Version")),
        "?",
    )
    with tempfile.TemporaryDirectory(prefix="settee-bench-") as tmp:
        process, url = start_service(Path(tmp), args.records)
        try:
            common = [url, KEY, str(args.limit), str(args.records)]
            runs: dict[str, list[dict[str, float]]] = {
                "settee": [],
                "settee (append)": [],
                "connect": [],
            }
            # warm the server (SQLite page cache, Django imports) once
            run_child(sys.executable, SETTEE_CHILD, [*common, "flat"])
            for _ in range(args.repeat):  # interleaved, so drift hits every client alike
                runs["settee"].append(run_child(sys.executable, SETTEE_CHILD, [*common, "flat"]))
                runs["settee (append)"].append(
                    run_child(sys.executable, SETTEE_CHILD, [*common, "append"])
                )
                runs["connect"].append(run_child(str(connect_python), CONNECT_CHILD, common))
        finally:
            process.terminate()
            process.wait(timeout=30)

    base = min(r["seconds"] for r in runs["connect"])
    base_cpu = min(r["cpu"] for r in runs["connect"])
    print(
        f"{args.records} records, page size {args.limit}, {args.repeat} rounds; "
        f"connect-openapi-client {connect_version}; Python {sys.version.split()[0]}"
    )
    header = (
        f"{'client':<17}{'best s':>9}{'median s':>10}{'vs connect':>12}"
        f"{'client CPU s':>14}{'CPU vs connect':>16}{'peak RSS MiB':>14}{'RSS growth MiB':>16}"
    )
    print(header)
    print("-" * len(header))
    for name, results in runs.items():
        best = min(r["seconds"] for r in results)
        median = statistics.median(r["seconds"] for r in results)
        peak = max(r["peak_rss_kb"] for r in results) / 1024
        growth = max(r["peak_rss_kb"] - r["rss_before_kb"] for r in results) / 1024
        cpu = min(r["cpu"] for r in results)
        print(
            f"{name:<17}{best:>9.3f}{median:>10.3f}{best / base:>11.2f}x"
            f"{cpu:>14.3f}{cpu / base_cpu:>15.2f}x{peak:>14.1f}{growth:>16.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
