"""Benchmark: what OpenAPI validation costs a REST client, and the async client's paging.

Run from the repo root with settee's venv::

    PYTHONPATH=src .venv/bin/python benchmarks/rest_specs.py [--calls 300] [--repeat 3]

Starts the test service (tests/servers/rql_service) on a free loopback port,
then, in this one process and run:

1. parses the service's spec (JSON and YAML) and reports the time of one parse
   (it happens once per process);
2. sends ``--calls`` ``GET products/<id>`` with a plain client, with
   ``validate_using_specs`` and with ``validate_responses`` too, and reports
   the client's CPU time per call (``process_time``: the wall time is mostly
   the server's) and its ratio to the plain client;
3. walks the 360 seeded products in pages of 50 with ``Client`` and with
   ``AsyncClient``, and reports the async/sync ratio of wall and CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from settee.rest import AsyncClient, Client  # noqa: E402
from settee.rest.specs import parse_specs  # noqa: E402
from tests.rest.conftest import API_KEY, start_service, stop_service  # noqa: E402


def calls(client: Client, n: int) -> float:
    ids = [f"PRD-{(i % 360) + 1:06d}" for i in range(n)]
    cpu = time.process_time()
    for rid in ids:
        client.products[rid].get()
    return (time.process_time() - cpu) / n


def walk_sync(url: str) -> tuple[float, float]:
    with Client(url, auth=API_KEY, default_limit=50) as client:
        wall, cpu = time.perf_counter(), time.process_time()
        assert sum(1 for _ in client.products.all()) == 360
        return time.perf_counter() - wall, time.process_time() - cpu


async def walk_async(url: str) -> tuple[float, float]:
    async with await AsyncClient.open(url, auth=API_KEY, default_limit=50) as client:
        wall, cpu = time.perf_counter(), time.process_time()
        n = 0
        async for _ in client.products.all():
            n += 1
        assert n == 360
        return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = start_service(Path(tmp))
        try:
            url = service.url
            with Client(url, auth=API_KEY) as plain:
                raw_json = plain.send("GET", "openapi.json").content
                raw_yaml = plain.send("GET", "openapi.yaml").content
            for name, raw in (("json", raw_json), ("yaml", raw_yaml)):
                start = time.perf_counter()
                parse_specs(raw)
                print(
                    f"parse the spec ({name}, {len(raw)} bytes): "
                    f"{(time.perf_counter() - start) * 1000:.1f} ms, once per process"
                )
            spec = Path(tmp) / "openapi.json"
            spec.write_bytes(raw_json)
            configs = {
                "plain": {},
                "validate requests": {"use_specs": True, "specs_location": spec},
                "validate requests+responses": {
                    "use_specs": True,
                    "specs_location": spec,
                    "validate_responses": True,
                },
            }
            results: dict[str, list[float]] = {k: [] for k in configs}
            for _ in range(args.repeat):
                for name, options in configs.items():
                    with Client(url, auth=API_KEY, **options) as client:  # type: ignore[arg-type]
                        calls(client, 20)  # warm: validators compiled, connection open
                        results[name].append(calls(client, args.calls))
            base = statistics.median(results["plain"])
            for name, values in results.items():
                med = statistics.median(values)
                print(f"{name:30} {med * 1e6:8.0f} us CPU/call  x{med / base:.2f}")
            sync = [walk_sync(url) for _ in range(args.repeat)]
            asyn = [asyncio.run(walk_async(url)) for _ in range(args.repeat)]
            sw, sc = (statistics.median(v) for v in zip(*sync, strict=True))
            aw, ac = (statistics.median(v) for v in zip(*asyn, strict=True))
            print(
                f"walk 360 in pages of 50: sync {sw * 1000:.0f} ms wall / {sc * 1000:.0f} ms "
                f"CPU; async {aw * 1000:.0f} ms / {ac * 1000:.0f} ms "
                f"(x{aw / sw:.2f} wall, x{ac / sc:.2f} CPU)"
            )
        finally:
            stop_service(service.process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
