"""Feed benchmark ratios: settee against the other clients, round by round.

Drives the shared feed harness (``feed_server.py`` and ``clients/*.py`` of
``../shared/bench``, read-only) the way ``run_feed_bench.sh`` does, but
records CPU seconds (user + sys of the client process, from GNU time) beside
wall seconds and peak RSS. On a shared machine other processes stretch wall
times by 2x at random; a client's own CPU seconds barely move, so the targets
are checked on both, as ratios taken within each round (median over rounds).

usage: python benchmarks/feeds/ratios.py N [ROUNDS]
  env: HARNESS (default /work/shared/bench), PY (client python, default
       /tmp/bench-venv/bin/python), BENCH_DATA (/tmp/settee-bench-data),
       PORT (26984), CLIENTS (space-separated script[:mode]).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

Results = dict[tuple[str, str], list[tuple[float, float, int]]]

HARNESS = Path(os.environ.get("HARNESS", "/work/shared/bench"))
PY = os.environ.get("PY", "/tmp/bench-venv/bin/python")
DATA_ROOT = Path(os.environ.get("BENCH_DATA", "/tmp/settee-bench-data"))
PORT = int(os.environ.get("PORT", "26984"))
CLIENTS = os.environ.get(
    "CLIENTS",
    "raw_orjson raw_ijson cloudant_feed:default cloudant_feed:chunk64k settee_feed",
).split()
FEEDS = ("normal", "continuous")
URL = f"http://127.0.0.1:{PORT}"


def run(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall s, cpu s, peak RSS KiB, stdout) of one client run."""
    with tempfile.NamedTemporaryFile("r") as timing:
        started = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", timing.name, *cmd],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        user, system, rss = timing.read().split()[-3:]
    if proc.returncode == 3:
        return wall, -1.0, 0, "unsupported"
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-500:]}")
    return wall, float(user) + float(system), int(rss), proc.stdout.strip()


def main() -> int:
    n = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    data = DATA_ROOT / str(n)
    if not (data / "meta.json").exists():
        subprocess.run(
            [sys.executable, str(HARNESS / "gen_feed.py"), str(n), str(data)], check=True
        )
    meta = json.loads((data / "meta.json").read_text())
    expected = f"rows={meta['rows']} sum={meta['sum']}"
    server = subprocess.Popen(
        [sys.executable, str(HARNESS / "feed_server.py"), str(PORT), str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(URL + "/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        results: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        for rnd in range(rounds):
            for feed in FEEDS:
                for spec in CLIENTS:
                    script, _, mode = spec.partition(":")
                    cmd = [PY, str(HARNESS / "clients" / f"{script}.py"), URL, "bench", feed]
                    if mode:
                        cmd.append(mode)
                    wall, cpu, rss, out = run(cmd)
                    if out == "unsupported":
                        continue
                    if out != expected:
                        raise RuntimeError(f"{spec} {feed}: {out!r} != {expected!r}")
                    results.setdefault((spec, feed), []).append((wall, cpu, rss))
                    print(
                        f"round {rnd + 1} {spec:26} {feed:10} wall {wall:6.2f} s  "
                        f"cpu {cpu:6.2f} s  rss {rss / 1024:6.1f} MiB",
                        file=sys.stderr,
                    )
        report(n, rounds, results)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


def ratio(
    results: dict[tuple[str, str], list[tuple[float, float, int]]],
    a: tuple[str, str],
    b: tuple[str, str],
    idx: int,
) -> str:
    if a not in results or b not in results:
        return "-"
    pairs = [x[idx] / y[idx] for x, y in zip(results[a], results[b], strict=False) if y[idx] > 0]
    return f"{statistics.median(pairs):.2f}" if pairs else "-"


def report(
    n: int, rounds: int, results: dict[tuple[str, str], list[tuple[float, float, int]]]
) -> None:
    print(f"\n### N = {n:,} rows, {rounds} interleaved rounds\n")
    print(
        "| client | feed | wall s (median) | CPU s (median) | peak RSS MiB | "
        "CPU x cloudant | wall x cloudant | CPU x raw_ijson | CPU x raw_orjson |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (spec, feed), runs in results.items():
        walls = [r[0] for r in runs]
        cpus = [r[1] for r in runs]
        rss = max(r[2] for r in runs) / 1024
        cloudant = ("cloudant_feed:default", feed)
        print(
            f"| {spec} | {feed} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | "
            f"{rss:.0f} | {ratio(results, (spec, feed), cloudant, 1)} | "
            f"{ratio(results, (spec, feed), cloudant, 0)} | "
            f"{ratio(results, (spec, feed), ('raw_ijson', feed), 1)} | "
            f"{ratio(results, (spec, feed), ('raw_orjson', feed), 1)} |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
